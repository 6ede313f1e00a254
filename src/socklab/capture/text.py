"""One line per packet, as ``tcpdump -n`` prints it (``-v``: the IP header's fields too).

Pure: a :class:`Printer` turns decoded :class:`~socklab.capture.decode.Packet`
records into text. It keeps one piece of state, as tcpdump does: the first
sequence numbers of each TCP conversation, so that later segments show
relative numbers (``seq 1:6, ack 1``; tcpdump's print-tcp.c, without ``-S``).
Words and their order follow tcpdump 4.99 (print-ip.c, print-tcp.c,
print-udp.c, print-icmp.c, print-icmp6.c, print-arp.c); the test suite compares
them field by field with tcpdump's own output for the same pcap file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from socklab.capture.decode import (
    ARP,
    ICMP,
    TCP,
    UDP,
    Cooked,
    ICMPv6,
    IPAddress,
    IPv4,
    IPv6,
    Packet,
    Quoted,
)

__all__ = ["Printer", "timestamp_text"]

PROTO_NAMES = {1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE",
               50: "ESP", 51: "AH", 58: "ICMPv6", 132: "SCTP"}
_DIRECTIONS = {"host": "In", "broadcast": "B", "multicast": "M", "otherhost": "P",
               "outgoing": "Out"}

_UNREACH = {  # print-icmp.c: the ICMP_UNREACH_* texts; {0} the quoted destination
    0: "net {0} unreachable", 1: "host {0} unreachable",
    5: "{0} unreachable - source route failed", 6: "net {0} unreachable - unknown",
    7: "host {0} unreachable - unknown", 8: "{0} unreachable - source host isolated",
    9: "net {0} unreachable - admin prohibited", 10: "host {0} unreachable - admin prohibited",
    11: "net {0} unreachable - tos prohibited", 12: "host {0} unreachable - tos prohibited",
    13: "host {0} unreachable - admin prohibited filter",
    14: "host {0} unreachable - host precedence violation",
    15: "host {0} unreachable - precedence cutoff"}
_UNREACH6 = {0: "unreachable route", 1: "unreachable prohibited", 2: "beyond scope",
             3: "unreachable address", 5: "unreachable source address policy failure",
             6: "unreachable reject route"}
_EXTENSION_NAMES = {0: "HBH ", 60: "DSTOPT "}
_ICMP6_NAMES = {133: "router solicitation", 134: "router advertisement",
                137: "redirect", 130: "multicast listener query",
                131: "multicast listener report", 132: "multicast listener done"}


def timestamp_text(timestamp: float) -> str:
    """``HH:MM:SS.uuuuuu`` in local time, as tcpdump's default ``-t`` format."""
    micros = round(timestamp * 1_000_000)
    seconds, frac = divmod(micros, 1_000_000)
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{frac:06d}"


def _port_of(q: Quoted) -> str:
    return {6: "tcp", 17: "udp"}.get(q.protocol, str(q.protocol))


class Printer:
    """Formats packets as tcpdump ``-n`` does; ``verbose`` as ``-v``.

    ``absolute`` as ``-S``: absolute TCP sequence numbers. ``conversations``
    bounds the memory of first sequence numbers (the oldest is forgotten).
    """

    def __init__(self, verbose: bool = False, absolute: bool = False,
                 conversations: int = 4096,
                 interface_name: Callable[[int], str] = str) -> None:
        self.verbose = verbose
        self.interface_name = interface_name
        self.absolute = absolute
        self._limit = conversations
        self._seq: dict[tuple[object, ...], tuple[int, int]] = {}

    def line(self, packet: Packet) -> str:
        """The whole line, timestamp first."""
        return f"{timestamp_text(packet.timestamp)} {self.body(packet)}"

    def body(self, packet: Packet) -> str:
        """The line without its timestamp."""
        prefix = ""
        if isinstance(packet.link, Cooked) and packet.link.ifindex is not None:
            # SLL2 names the interface and the direction (print-sll.c); SLL does not
            way = _DIRECTIONS.get(packet.link.packet_type, packet.link.packet_type)
            prefix = f"{self.interface_name(packet.link.ifindex):<5} {way:<3} "
        net = packet.network
        text: str
        if isinstance(net, IPv4):
            text = self._ipv4(packet, net)
        elif isinstance(net, IPv6):
            text = self._ipv6(packet, net)
        elif isinstance(net, ARP):
            text = self._arp(packet, net)
        elif packet.ethertype is not None:
            text = f"ethertype Unknown (0x{packet.ethertype:04x}), length {packet.length}"
        else:
            text = f"unknown link type {packet.linktype}, length {packet.length}"
        if packet.error and packet.network is not None:
            text += " [|truncated]"
        return prefix + text

    # -- network layer -------------------------------------------------------

    def _ipv4(self, p: Packet, ip: IPv4) -> str:
        head = "IP "
        if self.verbose:
            flags = "+".join(n for n, on in (("DF", ip.dont_fragment),
                                              ("MF", ip.more_fragments)) if on) or "none"
            proto = PROTO_NAMES.get(ip.protocol, "unknown")
            head = (f"IP (tos 0x{ip.tos:x}, ttl {ip.ttl}, id {ip.ident}, offset "
                    f"{ip.fragment_offset}, flags [{flags}], proto {proto} ({ip.protocol}), "
                    f"length {ip.total_length})\n    ")
        return head + self._upper(p, ip.src, ip.dst, ip.protocol, ip.first_fragment,
                                  ip.total_length - ip.header_length)

    def _ipv6(self, p: Packet, ip: IPv6) -> str:
        head = "IP6 "
        if self.verbose:
            proto = PROTO_NAMES.get(ip.protocol, "unknown")
            head = (f"IP6 (flowlabel 0x{ip.flow_label:05x}, hlim {ip.hop_limit}, next-header "
                    f"{proto} ({ip.protocol}) payload length: {ip.payload_length}) ")
        # tcpdump names the extension headers it walks through (print-ip6.c)
        names = "".join(_EXTENSION_NAMES.get(e, "") for e in ip.extensions)
        return head + self._upper(p, ip.src, ip.dst, ip.protocol, ip.first_fragment,
                                  ip.payload_length, names)

    def _arp(self, p: Packet, arp: ARP) -> str:
        length = p.length - (14 if not isinstance(p.link, Cooked) else
                             16 if p.link.ifindex is None else 20)
        if arp.operation == 1:
            known = "" if arp.target_mac == "00:00:00:00:00:00" else f" ({arp.target_mac})"
            what = f"Request who-has {arp.target_ip}{known} tell {arp.sender_ip}"
        elif arp.operation == 2:
            what = f"Reply {arp.sender_ip} is-at {arp.sender_mac}"
        else:
            what = f"op {arp.operation}"
        return f"ARP, {what}, length {length}"

    # -- transport layer -----------------------------------------------------

    def _upper(self, p: Packet, src: IPAddress, dst: IPAddress, proto: int, first: bool,
               length: int, extensions: str = "") -> str:
        if extensions:
            return self._upper(p, src, dst, proto, first, length).replace(
                ": ", f": {extensions}", 1)
        t = p.transport
        if isinstance(t, TCP):
            return f"{src}.{t.src_port} > {dst}.{t.dst_port}: {self._tcp(t, src, dst)}"
        if isinstance(t, UDP):
            return f"{src}.{t.src_port} > {dst}.{t.dst_port}: UDP, length {t.length - 8}"
        if isinstance(t, ICMP):
            return f"{src} > {dst}: ICMP {_icmp(t)}, length {t.length}"
        if isinstance(t, ICMPv6):
            return f"{src} > {dst}: ICMP6, {_icmp6(t)}, length {t.length}"
        if not first:  # a later fragment: no transport header (print-ip.c, with -n)
            return f"{src} > {dst}: ip-proto-{proto}"
        # tcpdump decodes many more (IGMP, GRE, ESP...): socklab names the number
        return f"{src} > {dst}: ip-proto-{proto} {length}"

    def _tcp(self, t: TCP, src: IPAddress, dst: IPAddress) -> str:
        seq, ack, sack_base = self._relative(t, src, dst)
        parts = [f"Flags [{t.flag_text}]"]
        if self.verbose:
            parts.append(f"cksum 0x{t.checksum:04x}")
        if t.payload_length > 0 or t.flags & 0x07:  # SYN, FIN, RST
            parts.append(f"seq {seq}" if t.payload_length == 0 else
                         f"seq {seq}:{(seq + t.payload_length) & 0xFFFFFFFF}")
        if t.flags & 0x10:
            parts.append(f"ack {ack}")
        parts.append(f"win {t.window}")
        if t.flags & 0x20:
            parts.append(f"urg {t.urgent}")
        if t.options:
            parts.append(f"options [{','.join(_option(n, v, sack_base) for n, v in t.options)}]")
        parts.append(f"length {t.payload_length}")
        return ", ".join(parts)

    def _relative(self, t: TCP, src: IPAddress, dst: IPAddress) -> tuple[int, int, int]:
        """tcpdump's relative numbers: one entry per conversation, keyed in a fixed
        order of (port, address) so both directions share it (print-tcp.c). The third
        number is what SACK blocks are shown relative to."""
        if self.absolute or not t.flags & 0x10:
            return t.seq, t.ack, 0
        rev = t.src_port > t.dst_port or (t.src_port == t.dst_port and src.packed > dst.packed)
        key = ((dst, src, t.dst_port, t.src_port) if rev else (src, dst, t.src_port, t.dst_port))
        known = self._seq.get(key)
        if known is None or t.flags & 0x02:
            base_ack = (t.ack - 1) & 0xFFFFFFFF
            self._seq.pop(key, None)
            if len(self._seq) >= self._limit:
                del self._seq[next(iter(self._seq))]
            th_seq, th_ack = (base_ack, t.seq) if rev else (t.seq, base_ack)
            self._seq[key] = (th_seq, th_ack)
            return t.seq, t.ack, th_seq if rev else th_ack
        th_seq, th_ack = known
        if rev:
            return (t.seq - th_ack) & 0xFFFFFFFF, (t.ack - th_seq) & 0xFFFFFFFF, th_seq
        return (t.seq - th_seq) & 0xFFFFFFFF, (t.ack - th_ack) & 0xFFFFFFFF, th_ack


def _option(name: str, values: tuple[int, ...], sack_base: int = 0) -> str:
    if name == "TS":
        return f"TS val {values[0]} ecr {values[1]}"
    if name in ("mss", "wscale"):
        return f"{name} {values[0]}"
    if name == "sack":
        v = [(x - sack_base) & 0xFFFFFFFF for x in values]
        blocks = "".join(f"{{{v[i]}:{v[i + 1]}}}" for i in range(0, len(v), 2))
        return f"sack {len(values) // 2} {blocks}"
    if name.startswith("opt-"):
        return f"{name}:{bytes(values).hex()}"
    return name


def _icmp(t: ICMP) -> str:
    if t.type in (0, 8):
        kind = "echo reply" if t.type == 0 else "echo request"
        return f"{kind}, id {t.ident}, seq {t.seq}"
    q = t.quoted
    if t.type == 3 and q is not None:
        if t.code == 2:
            return f"{q.dst} protocol {q.protocol} unreachable"
        if t.code == 3:
            return f"{q.dst} {_port_of(q)} port {q.dst_port} unreachable"
        if t.code == 4:
            return f"{q.dst} unreachable - need to frag (mtu {t.mtu})"
        return _UNREACH.get(t.code, "{0} unreachable - #" + str(t.code)).format(q.dst)
    if t.type == 11:
        return "time exceeded in-transit" if t.code == 0 else "ip reassembly time exceeded"
    if t.type == 5 and q is not None:
        return f"redirect {q.dst} to host {t.gateway}"
    return f"type-#{t.type}"


def _icmp6(t: ICMPv6) -> str:
    if t.type in (128, 129):
        kind = "echo request" if t.type == 128 else "echo reply"
        return f"{kind}, id {t.ident}, seq {t.seq}"
    if t.type == 135:
        return f"neighbor solicitation, who has {t.target}"
    if t.type == 136:
        return f"neighbor advertisement, tgt is {t.target}"
    q = t.quoted
    if t.type == 1 and q is not None:
        if t.code == 4:
            return f"destination unreachable, unreachable port, {q.dst} {_port_of(q)} port " \
                   f"{q.dst_port}"
        return f"destination unreachable, {_UNREACH6.get(t.code, 'unknown')} {q.dst}"
    if t.type == 2:
        return f"packet too big, mtu {t.mtu}"
    if t.type == 3 and t.code == 0 and q is not None:
        return f"time exceeded in-transit for {q.dst}"
    return _ICMP6_NAMES.get(t.type, f"unknown icmp6 type ({t.type})")
