"""Packet decoders: bytes in, frozen records out. Pure, no socket, no file.

Rules:

1. Each layer has one decoder, ``decode_LAYER(data) -> (record, payload)``. It
   reads only the bytes it is given and raises only :class:`Malformed` (a header
   cut short, a length field that points outside the packet, a version that is
   not its own), naming the layer and the offset.
2. :func:`decode_packet` walks the layers from a link type (pcap's numbers) and
   never raises: a layer it cannot read ends the walk, and the packet keeps the
   layers read so far and says why it stopped in ``error`` (tcpdump's ``[|tcp]``).
3. Lengths are the ones the headers give, bounded by the bytes captured: a
   snapshot cut short (``snaplen``) is not an error for the layers already read.

References: IEEE 802.3 (Ethernet II), RFC 826 (ARP), RFC 791 (IPv4), RFC 8200
(IPv6 and its extension headers), RFC 792 and RFC 4443 (ICMP, ICMPv6), RFC 4861
(neighbour discovery), RFC 9293 (TCP), RFC 768 (UDP), pcap-linktype(7) for the
Linux cooked headers (LINKTYPE_LINUX_SLL and _SLL2).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from socklab.capture.pcap import (  # the link types decode_packet takes (pcap-linktype(7))
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
)
from socklab.errors import Malformed

__all__ = [
    "ARP",
    "ICMP",
    "TCP",
    "UDP",
    "Cooked",
    "Ethernet",
    "ICMPv6",
    "IPv4",
    "IPv6",
    "Packet",
    "Quoted",
    "decode_arp",
    "decode_cooked",
    "decode_cooked2",
    "decode_ethernet",
    "decode_icmp",
    "decode_icmpv6",
    "decode_ipv4",
    "decode_ipv6",
    "decode_packet",
    "decode_tcp",
    "decode_udp",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ETH_P_IP, ETH_P_ARP, ETH_P_IPV6, ETH_P_8021Q = 0x0800, 0x0806, 0x86DD, 0x8100
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 1, 6, 17, 58

# sll_pkttype (packet(7)): where the frame was going
PACKET_TYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}

TCP_FLAGS = (("F", 0x01), ("S", 0x02), ("R", 0x04), ("P", 0x08), (".", 0x10), ("U", 0x20),
             ("E", 0x40), ("W", 0x80))  # tcpdump's letters, in its order; ACK is "."


def _need(data: bytes, size: int, what: str, at: int = 0) -> None:
    if len(data) < at + size:
        raise Malformed(f"{what} at offset {at}: {len(data) - at} bytes, "
                        f"the header needs {size}")


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


# -- link layer -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ethernet:
    """An Ethernet II header (and one 802.1Q tag, when there is one)."""

    src: str
    dst: str
    ethertype: int
    vlan: int | None = None


@dataclass(frozen=True, slots=True)
class Cooked:
    """A Linux cooked capture header: what the kernel said of a frame on ``any``."""

    packet_type: str  # host, broadcast, multicast, otherhost, outgoing
    arphrd: int  # ARPHRD_* of the interface (1 Ethernet, 772 loopback)
    address: str  # the link-layer source address (hex pairs)
    protocol: int  # the ethertype
    ifindex: int | None = None  # SLL2 only


_ETH = struct.Struct("!6s6sH")
_SLL = struct.Struct("!HHH8sH")  # pkttype, hatype, halen, addr, protocol
_SLL2 = struct.Struct("!HHiHBB8s")  # protocol, reserved, ifindex, hatype, pkttype, halen, addr


def decode_ethernet(data: bytes) -> tuple[Ethernet, bytes]:
    """An Ethernet II frame (without its FCS, as packet sockets give it)."""
    _need(data, 14, "Ethernet header")
    dst, src, ethertype = _ETH.unpack_from(data)
    vlan = None
    offset = 14
    if ethertype == ETH_P_8021Q:
        _need(data, 4, "802.1Q tag", 14)
        tci, ethertype = struct.unpack_from("!HH", data, 14)
        vlan = tci & 0x0FFF
        offset = 18
    return Ethernet(_mac(src), _mac(dst), ethertype, vlan), data[offset:]


def _packet_type(value: int) -> str:
    return PACKET_TYPES.get(value, str(value))


def decode_cooked(data: bytes) -> tuple[Cooked, bytes]:
    """A LINKTYPE_LINUX_SLL header (16 bytes)."""
    _need(data, _SLL.size, "Linux cooked header")
    pkttype, hatype, halen, addr, protocol = _SLL.unpack_from(data)
    return (Cooked(_packet_type(pkttype), hatype, _mac(addr[:min(halen, 8)]), protocol),
            data[_SLL.size:])


def decode_cooked2(data: bytes) -> tuple[Cooked, bytes]:
    """A LINKTYPE_LINUX_SLL2 header (20 bytes, with the interface index)."""
    _need(data, _SLL2.size, "Linux cooked v2 header")
    protocol, _, ifindex, hatype, pkttype, halen, addr = _SLL2.unpack_from(data)
    return (Cooked(_packet_type(pkttype), hatype, _mac(addr[:min(halen, 8)]), protocol,
                   ifindex), data[_SLL2.size:])


# -- ARP ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ARP:
    """An ARP message (RFC 826). Addresses are strings: IPv4 and MAC for the usual
    Ethernet/IPv4 pair, hex for any other."""

    hardware: int
    protocol: int
    operation: int  # 1 request, 2 reply
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


def decode_arp(data: bytes) -> tuple[ARP, bytes]:
    _need(data, 8, "ARP header")
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", data)
    _need(data, 8 + 2 * (hlen + plen), "ARP addresses")
    at = 8
    sha = data[at:at + hlen]
    at += hlen
    spa = data[at:at + plen]
    at += plen
    tha = data[at:at + hlen]
    at += hlen
    tpa = data[at:at + plen]
    at += plen

    def proto(raw: bytes) -> str:
        return str(ipaddress.IPv4Address(raw)) if ptype == ETH_P_IP and plen == 4 else raw.hex()

    return ARP(htype, ptype, op, _mac(sha), proto(spa), _mac(tha), proto(tpa)), data[at:]


# -- IP -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IPv4:
    """An IPv4 header (RFC 791)."""

    src: ipaddress.IPv4Address
    dst: ipaddress.IPv4Address
    protocol: int
    ttl: int
    total_length: int
    ident: int
    tos: int
    dont_fragment: bool
    more_fragments: bool
    fragment_offset: int  # in bytes
    header_length: int
    checksum: int

    @property
    def first_fragment(self) -> bool:
        return self.fragment_offset == 0


@dataclass(frozen=True, slots=True)
class IPv6:
    """An IPv6 header (RFC 8200); ``protocol`` is the upper layer's, after the
    extension headers listed in ``extensions`` (their next-header numbers)."""

    src: ipaddress.IPv6Address
    dst: ipaddress.IPv6Address
    protocol: int
    hop_limit: int
    payload_length: int
    traffic_class: int
    flow_label: int
    extensions: tuple[int, ...] = ()
    fragment_offset: int = 0  # from a fragment header, in bytes
    more_fragments: bool = False

    @property
    def first_fragment(self) -> bool:
        return self.fragment_offset == 0


_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
# Extension headers skipped to reach the upper layer (RFC 8200 4.1; 51 is AH, RFC 4302)
HOP_BY_HOP, ROUTING, FRAGMENT, DEST_OPTS, AUTH = 0, 43, 44, 60, 51
_EXTENSIONS = {HOP_BY_HOP, ROUTING, FRAGMENT, DEST_OPTS, AUTH}


def decode_ipv4(data: bytes) -> tuple[IPv4, bytes]:
    """An IPv4 header; the payload is cut at the total length (Ethernet pads short frames)."""
    _need(data, 20, "IPv4 header")
    vihl, tos, total, ident, frag, ttl, proto, csum, src, dst = _IPV4.unpack_from(data)
    if vihl >> 4 != 4:
        raise Malformed(f"IPv4 header at offset 0: version {vihl >> 4}, not 4")
    ihl = (vihl & 0x0F) * 4
    if ihl < 20:
        raise Malformed(f"IPv4 header at offset 0: header length {ihl} is below 20")
    _need(data, ihl, "IPv4 options")
    if total < ihl:
        raise Malformed(f"IPv4 header at offset 2: total length {total} is shorter than "
                        f"the header ({ihl})")
    record = IPv4(ipaddress.IPv4Address(src), ipaddress.IPv4Address(dst), proto, ttl, total,
                  ident, tos, bool(frag & 0x4000), bool(frag & 0x2000), (frag & 0x1FFF) * 8,
                  ihl, csum)
    return record, data[ihl:total]


def decode_ipv6(data: bytes) -> tuple[IPv6, bytes]:
    """An IPv6 header and its extension headers; the payload is the upper layer's."""
    _need(data, 40, "IPv6 header")
    word, plen, nxt, hlim, src, dst = _IPV6.unpack_from(data)
    if word >> 28 != 6:
        raise Malformed(f"IPv6 header at offset 0: version {word >> 28}, not 6")
    payload = data[40:40 + plen]
    extensions: list[int] = []
    frag_offset, more = 0, False
    at = 0
    # bounded: every extension header is at least 8 bytes of a payload below 64 KiB
    while nxt in _EXTENSIONS and frag_offset == 0:
        _need(payload, 8, "IPv6 extension header", at)
        extensions.append(nxt)
        if nxt == FRAGMENT:
            frag = struct.unpack_from("!H", payload, at + 2)[0]
            frag_offset, more = frag & 0xFFF8, bool(frag & 1)
            size = 8
        elif nxt == AUTH:  # its length is in 4-byte words, minus 2 (RFC 4302 2.2)
            size = (payload[at + 1] + 2) * 4
        else:
            size = (payload[at + 1] + 1) * 8
        nxt = payload[at]
        at += size
        if at > len(payload):
            raise Malformed(f"IPv6 extension header at offset {40 + at - size}: "
                            f"{size} bytes, past the end of the packet")
    record = IPv6(ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst), nxt, hlim, plen,
                  (word >> 20) & 0xFF, word & 0xFFFFF, tuple(extensions), frag_offset, more)
    return record, payload[at:]


# -- transport ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TCP:
    """A TCP header (RFC 9293). ``options`` are ``(name, values)`` pairs in order:
    ``("mss", (1460,))``, ``("sackOK", ())``, ``("TS", (val, ecr))``, ``("wscale", (7,))``,
    ``("sack", (left, right, ...))``, ``("nop", ())``, ``("eol", ())``, ``("opt-N", raw)``."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    checksum: int
    urgent: int
    header_length: int
    options: tuple[tuple[str, tuple[int, ...]], ...]
    payload_length: int

    @property
    def flag_text(self) -> str:
        """The flags as tcpdump writes them between brackets: ``S.``, ``P.``, ``F.``."""
        return "".join(letter for letter, bit in TCP_FLAGS if self.flags & bit) or "none"


@dataclass(frozen=True, slots=True)
class UDP:
    src_port: int
    dst_port: int
    length: int  # the header's, which counts itself
    checksum: int


@dataclass(frozen=True, slots=True)
class Quoted:
    """The start of the packet an ICMP error quotes: enough to say which flow it is."""

    src: IPAddress
    dst: IPAddress
    protocol: int
    src_port: int | None = None
    dst_port: int | None = None


@dataclass(frozen=True, slots=True)
class ICMP:
    """An ICMP message (RFC 792). ``ident``/``seq`` for echoes; ``quoted`` for errors;
    ``gateway`` for a redirect; ``mtu`` for "fragmentation needed"."""

    type: int
    code: int
    checksum: int
    length: int
    ident: int | None = None
    seq: int | None = None
    quoted: Quoted | None = None
    gateway: ipaddress.IPv4Address | None = None
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class ICMPv6:
    """An ICMPv6 message (RFC 4443, RFC 4861 for neighbour discovery).
    ``target`` for NS/NA; ``na_flags`` (router, solicited, override) for NA."""

    type: int
    code: int
    checksum: int
    length: int
    ident: int | None = None
    seq: int | None = None
    quoted: Quoted | None = None
    target: ipaddress.IPv6Address | None = None
    na_flags: str = ""
    mtu: int | None = None


_TCP = struct.Struct("!HHIIBBHHH")
_OPTION_NAMES = {2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS"}


def _tcp_options(raw: bytes) -> tuple[tuple[str, tuple[int, ...]], ...]:
    out: list[tuple[str, tuple[int, ...]]] = []
    at = 0
    while at < len(raw):
        kind = raw[at]
        if kind == 0:
            out.append(("eol", ()))
            break
        if kind == 1:
            out.append(("nop", ()))
            at += 1
            continue
        if at + 2 > len(raw) or raw[at + 1] < 2 or at + raw[at + 1] > len(raw):
            raise Malformed(f"TCP option {kind} at offset {20 + at}: bad length")
        size = raw[at + 1]
        body = raw[at + 2:at + size]
        name = _OPTION_NAMES.get(kind)
        if name == "mss" and size == 4:
            out.append(("mss", struct.unpack("!H", body)))
        elif name == "wscale" and size == 3:
            out.append(("wscale", (body[0],)))
        elif name == "sackOK" and size == 2:
            out.append(("sackOK", ()))
        elif name == "TS" and size == 10:
            out.append(("TS", struct.unpack("!II", body)))
        elif name == "sack" and (size - 2) % 8 == 0:
            out.append(("sack", struct.unpack(f"!{(size - 2) // 4}I", body)))
        else:
            out.append((f"opt-{kind}", tuple(body)))
        at += size
    return tuple(out)


def decode_tcp(data: bytes) -> tuple[TCP, bytes]:
    _need(data, 20, "TCP header")
    sport, dport, seq, ack, off, flags, win, csum, urg = _TCP.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < 20:
        raise Malformed(f"TCP header at offset 12: data offset {hlen} is below 20")
    _need(data, hlen, "TCP options")
    flags |= (off & 0x01) << 8  # NS (RFC 3540, historic)
    options = _tcp_options(data[20:hlen])
    return (TCP(sport, dport, seq, ack, flags, win, csum, urg, hlen, options, len(data) - hlen),
            data[hlen:])


def decode_udp(data: bytes) -> tuple[UDP, bytes]:
    _need(data, 8, "UDP header")
    sport, dport, length, csum = struct.unpack_from("!HHHH", data)
    return UDP(sport, dport, length, csum), data[8:]


def _quoted(data: bytes) -> Quoted:
    """The IP header and first 8 bytes an ICMP error carries (RFC 792, RFC 4443 3.1)."""
    if data[:1] and data[0] >> 4 == 6:
        header6, rest = decode_ipv6(data)
        return _quoted_ports(header6.src, header6.dst, header6.protocol, rest)
    header, rest = decode_ipv4(data)  # the total length may exceed the bytes quoted
    return _quoted_ports(header.src, header.dst, header.protocol, rest)


def _quoted_ports(src: IPAddress, dst: IPAddress, proto: int, rest: bytes) -> Quoted:
    if proto in (PROTO_TCP, PROTO_UDP) and len(rest) >= 4:
        sport, dport = struct.unpack_from("!HH", rest)
        return Quoted(src, dst, proto, sport, dport)
    return Quoted(src, dst, proto)


def decode_icmp(data: bytes) -> tuple[ICMP, bytes]:
    _need(data, 8, "ICMP header")
    typ, code, csum, a, b = struct.unpack_from("!BBHHH", data)
    body = data[8:]
    if typ in (0, 8, 13, 14, 15, 16):  # echo, timestamp, information
        return ICMP(typ, code, csum, len(data), ident=a, seq=b), body
    if typ in (3, 4, 5, 11, 12):  # errors quote the offending packet
        quoted = _quoted(body)
        gateway = ipaddress.IPv4Address(data[4:8]) if typ == 5 else None
        mtu = b if typ == 3 and code == 4 else None
        return ICMP(typ, code, csum, len(data), quoted=quoted, gateway=gateway, mtu=mtu), body
    return ICMP(typ, code, csum, len(data)), body


def decode_icmpv6(data: bytes) -> tuple[ICMPv6, bytes]:
    _need(data, 8, "ICMPv6 header")
    typ, code, csum, a, b = struct.unpack_from("!BBHHH", data)
    body = data[8:]
    if typ in (128, 129):
        return ICMPv6(typ, code, csum, len(data), ident=a, seq=b), body
    if typ in (1, 2, 3, 4):
        mtu = (a << 16 | b) if typ == 2 else None
        return ICMPv6(typ, code, csum, len(data), quoted=_quoted(body), mtu=mtu), body
    if typ in (135, 136):  # NS, NA: 4 bytes (flags) then the target (RFC 4861 4.3, 4.4)
        _need(data, 24, "neighbour discovery target")
        target = ipaddress.IPv6Address(data[8:24])
        flags = ""
        if typ == 136:
            flags = ", ".join(n for n, bit in (("router", 0x80), ("solicited", 0x40),
                                                ("override", 0x20)) if data[4] & bit)
        return ICMPv6(typ, code, csum, len(data), target=target, na_flags=flags), data[24:]
    return ICMPv6(typ, code, csum, len(data)), body


# -- the whole packet -----------------------------------------------------------

Link = Ethernet | Cooked
Network = IPv4 | IPv6 | ARP
Transport = TCP | UDP | ICMP | ICMPv6


@dataclass(frozen=True, slots=True)
class Packet:
    """A captured packet, decoded as far as it could be.

    ``timestamp`` is in seconds since the epoch (microsecond resolution as
    pcap), ``length`` the length on the wire, ``captured`` the bytes kept.
    ``error`` says where decoding stopped (None when every layer was read).
    """

    timestamp: float
    length: int
    captured: int
    linktype: int
    link: Link | None = None
    network: Network | None = None
    transport: Transport | None = None
    payload_length: int = 0
    ethertype: int | None = None
    error: str | None = None
    interface: str | None = None


def decode_packet(data: bytes, linktype: int = LINKTYPE_ETHERNET, timestamp: float = 0.0,
                  length: int | None = None, interface: str | None = None) -> Packet:
    """Decode every layer socklab knows; never raises (rule 2)."""
    wire = len(data) if length is None else length
    link: Link | None = None
    network: Network | None = None
    transport: Transport | None = None
    ethertype: int | None = None
    payload = data
    try:
        if linktype == LINKTYPE_ETHERNET:
            link, payload = decode_ethernet(data)
            ethertype = link.ethertype
        elif linktype == LINKTYPE_LINUX_SLL:
            link, payload = decode_cooked(data)
            ethertype = link.protocol
        elif linktype == LINKTYPE_LINUX_SLL2:
            link, payload = decode_cooked2(data)
            ethertype = link.protocol
        elif linktype == LINKTYPE_RAW:
            ethertype = ETH_P_IPV6 if data[:1] and data[0] >> 4 == 6 else ETH_P_IP
        else:
            raise Malformed(f"link type {linktype} is not one socklab decodes")
        if ethertype == ETH_P_IP:
            network, payload = decode_ipv4(payload)
        elif ethertype == ETH_P_IPV6:
            network, payload = decode_ipv6(payload)
        elif ethertype == ETH_P_ARP:
            network, payload = decode_arp(payload)
        if isinstance(network, IPv4 | IPv6) and network.first_fragment:
            proto = network.protocol
            if proto == PROTO_TCP:
                transport, payload = decode_tcp(payload)
            elif proto == PROTO_UDP:
                transport, payload = decode_udp(payload)
            elif proto == PROTO_ICMP and isinstance(network, IPv4):
                transport, payload = decode_icmp(payload)
            elif proto == PROTO_ICMPV6 and isinstance(network, IPv6):
                transport, payload = decode_icmpv6(payload)
    except Malformed as exc:
        return Packet(timestamp, wire, len(data), linktype, link, network, transport, 0,
                      ethertype, str(exc), interface)
    return Packet(timestamp, wire, len(data), linktype, link, network, transport, len(payload),
                  ethertype, None, interface)
