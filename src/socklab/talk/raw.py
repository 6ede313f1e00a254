"""Raw endpoints: ``ip4:HOST:PROTO`` / ``ip6:HOST:PROTO`` (the course's raw IP socket,
SOCK_RAW with a protocol number) and ``packet:DEV`` (a PF_PACKET socket bound to one
device: whole frames in and out).

Rules:

1. Every socket comes from the traced factory: ``--trace`` shows
   ``socket(AF_INET, SOCK_RAW, 253)``, ``bind``, ``connect``, ``send``, ``recvfrom_into``.
   Without CAP_NET_RAW, socket() fails with EPERM: :class:`MissingPrivilege`
   naming CAP_NET_RAW (exit 77).
2. A protocol given by name is looked up in /etc/protocols; 0 and 255 are refused
   (the kernel hands no received packet to such a socket, raw(7)). TCP (6) and UDP
   (17) are allowed: the socket then gets a copy of every such packet the machine
   receives, beside the kernel's own TCP or UDP, which still answers them.
3. ip4/ip6: each input chunk is one datagram's payload; the kernel writes the IP
   header. An IPv4 raw socket receives the packet with its IPv4 header (raw(7): the
   course's "the raw socket sees the IP header", 84 bytes for a 64-byte ping); an
   IPv6 one receives the payload alone (RFC 3542 section 3). Messages here carry
   the payload, the IPv4 header stripped after its length (IHL) was checked, so
   both families give the bytes the sender sent, as socat's IP4-RECV does; the
   stripped length is reported (:attr:`Message.header`). An ICMPv6 or Mobility
   Header payload too short for the checksum the kernel writes into it is BadInput
   (:data:`IPV6_CHECKSUMMED`; the kernel's EINVAL said no more).
4. A client is connected (raw(7): the kernel then delivers only that peer's
   packets, and the ICMP errors about what it sent: "protocol unreachable" is
   ENOPROTOOPT, passed on only when the error quotes 8 bytes of payload,
   icmp_socket_deliver in net/ipv4/icmp.c). On loopback a client whose address
   is also the source receives its own packets: the kernel gives a copy to every
   matching raw socket.
5. packet: frames are hex text, one frame per line both ways, link header
   included (packet(7) SOCK_RAW): a line is at most :data:`MAX_LINE` bytes, a
   frame at least the device's link header and at most its MTU plus that header;
   anything else is one BadInput line. Empty lines and ``#`` comments are skipped.
6. Only frames coming in are delivered (``PACKET_OUTGOING`` skipped: ``socklab
   sniff`` shows both directions). The receive buffer is :data:`RECV_BUFFER`
   bytes; a longer frame (a GRO super-packet on lo) is cut and marked so.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import BinaryIO, NamedTuple

from socklab.errors import BadInput, NotFound, from_oserror
from socklab.kernel import sock as ksock
from socklab.talk.endpoint import Endpoint

__all__ = ["MAX_LINE", "RECV_BUFFER", "Link", "Message", "frame_line", "open_raw",
           "parse_frame_line", "protocol_number", "receive", "serve", "summary", "talk"]

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 772, 0xFFFE
RECV_BUFFER = 1 << 18
"""Bytes read per message: more than any IP datagram (65,535) or loopback frame."""
MAX_LINE = 2 * (65535 + 14) + 4096
"""The longest hex line read: a 64 KiB frame with its Ethernet header, and room for
spaces between bytes would need more: such a frame is written without them."""
IP_PAYLOAD: dict[int, int] = {socket.AF_INET: 65535 - 20, socket.AF_INET6: 65535}
"""The largest payload one datagram carries (the length fields are 16 bits; IPv4's
counts its own 20-byte header, IPv6's does not)."""

IPV6_CHECKSUMMED = {58: 4, 135: 6}
"""IPv6 protocols whose checksum the kernel writes into what a raw socket sends (ICMPv6
at offset 2, Mobility Header at 4: rawv6_init_sk), and the shortest payload that holds
it; a shorter one is refused with EINVAL (rawv6_push_pending_frames, RFC 3542 3.1)."""


class Link(NamedTuple):
    """The device a ``packet:`` socket is bound to."""

    name: str
    ifindex: int
    mtu: int
    hatype: int  # ARPHRD_*: 1 Ethernet, 772 loopback, 0xfffe none (tun)

    @property
    def header(self) -> int:
        """The link header a frame starts with (14 for Ethernet and loopback)."""
        return 14 if self.hatype in (ARPHRD_ETHER, ARPHRD_LOOPBACK) else 0

    @property
    def max_frame(self) -> int:
        return self.mtu + self.header


class Message(NamedTuple):
    """One datagram or frame received."""

    data: bytes  # the payload (ip4: after the IPv4 header) or the whole frame
    source: str  # the sender's address, or the device of a frame
    header: int = 0  # ip4: the IPv4 header's length, stripped from data
    whole: bytes = b""  # ip4: the packet as received (header included)
    cut: bool = False  # longer than RECV_BUFFER: only its start is here


def protocol_number(ep: Endpoint, protocols: Callable[[], dict[str, int]] | None = None
                    ) -> int:
    """The protocol of an ``ip4:``/``ip6:`` endpoint as a number (rule 2). Raises
    NotFound for an unknown name, BadInput for a name meaning 0 or 255."""
    if isinstance(ep.port, int):
        return ep.port
    number = (protocols or _protocols)().get(ep.port.lower())
    if number is None:
        raise NotFound(f"{ep}: unknown protocol {ep.port!r} (not in /etc/protocols; "
                       "give its number)")
    if not 0 < number < 255:
        raise BadInput(f"{ep}: protocol {ep.port!r} is {number}: a raw socket for it receives "
                       "no packet (give 1 to 254)")
    return number


@lru_cache(maxsize=1)
def _protocols() -> dict[str, int]:
    """/etc/protocols, read once (a -v summary asks for each datagram)."""
    from socklab.kernel.procfs import read_protocols

    return read_protocols()


def open_raw(ep: Endpoint, *, client: bool) -> tuple[socket.socket, Link | None]:
    """The socket of a raw endpoint: for ``ip4:``/``ip6:`` connected (``client``) or bound
    to HOST (a listener; empty HOST: every address); for ``packet:`` bound to the
    device, with the device's :class:`Link`. Raises MissingPrivilege (CAP_NET_RAW),
    NotFound (host, protocol or device), NetworkError."""
    if ep.scheme == "packet":
        s = _open_packet(ep, client)
        try:
            return s, _link(s, ep)
        except NotFound:
            s.close()
            raise
    if not ep.is_raw:
        raise BadInput(f"{ep}: not a raw endpoint (ip4:, ip6:, packet:)")
    proto = protocol_number(ep)
    address = _address(ep, proto) if ep.host else None
    if address is None and client:
        raise BadInput(f"connect {ep}: give the host to send to ({ep.scheme}:HOST:{proto})")
    try:
        s = ksock.socket(ep.family, socket.SOCK_RAW, proto,
                         role="client" if client else "receiver")
    except OSError as exc:
        raise from_oserror(exc, f"socket({'AF_INET' if ep.family == socket.AF_INET else 'AF_INET6'}"
                           f", SOCK_RAW, {proto}) for {ep}", "CAP_NET_RAW") from exc
    try:
        if address is not None:
            (s.connect if client else s.bind)(address)
    except OSError as exc:
        s.close()
        raise from_oserror(exc, f"{'connect' if client else 'bind'} {ep}") from exc
    return s, None


def _address(ep: Endpoint, proto: int) -> tuple[object, ...]:
    from socklab.names import check_host

    check_host(ep.host, "endpoint")
    try:
        infos = socket.getaddrinfo(ep.host, None, ep.family, socket.SOCK_RAW, proto)
    except socket.gaierror as exc:
        raise NotFound(f"{ep}: cannot resolve {ep.host!r} ({exc.strerror})") from exc
    if not infos:
        raise NotFound(f"{ep}: no address for {ep.host!r}")
    return tuple(infos[0][4])


def _open_packet(ep: Endpoint, client: bool) -> socket.socket:
    # libpcap's order: opened for no protocol, then bound to the device for every
    # protocol, so that no frame of another device arrives in between (packet(7))
    try:
        s = ksock.socket(ep.family, socket.SOCK_RAW, 0, role="client" if client else "receiver")
    except OSError as exc:
        raise from_oserror(exc, f"socket(AF_PACKET, SOCK_RAW) for {ep}", "CAP_NET_RAW") from exc
    try:
        s.bind((ep.host, ETH_P_ALL))
    except OSError as exc:
        s.close()
        if exc.errno == 19:  # ENODEV
            raise NotFound(f"{ep}: no interface {ep.host!r} here") from exc
        raise from_oserror(exc, f"bind {ep}") from exc
    return s


def _link(s: socket.socket, ep: Endpoint) -> Link:
    """The device's index, MTU and type, asked through the packet socket itself (the
    SIOCGIF* ioctls reach the device layer from a socket of any family)."""
    from socklab.kernel import ifioctl

    try:
        index, _flags, mtu, hatype, _hw, _txq = ifioctl.link_info(s, ep.host)
    except OSError as exc:
        raise NotFound(f"{ep}: no interface {ep.host!r} here ({exc.strerror})") from exc
    return Link(ep.host, index, mtu, hatype)


# -- frames as text (rule 5) ------------------------------------------------------

def frame_line(frame: bytes) -> bytes:
    """A frame as one line of hex, newline ended."""
    return frame.hex().encode() + b"\n"


def parse_frame_line(line: bytes, link: Link, number: int = 0) -> bytes | None:
    """The frame a hex line holds, None for an empty or comment line. Raises BadInput
    for a line that is not hex, or a frame the device cannot send (rule 5)."""
    text = line.strip()
    if not text or text.startswith(b"#"):
        return None
    where = f"line {number}: " if number else ""
    try:
        frame = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput(f"packet:{link.name} input {where}expected a frame in hex "
                       "(pairs of hex digits, spaces allowed between bytes)") from None
    if len(frame) < max(link.header, 1):
        raise BadInput(f"packet:{link.name} input {where}a frame of {len(frame)} bytes is "
                       f"shorter than its {link.header}-byte link header")
    if len(frame) > link.max_frame:
        raise BadInput(f"packet:{link.name} input {where}a frame of {len(frame)} bytes: "
                       f"{link.name}'s MTU is {link.mtu} (at most {link.max_frame} bytes "
                       f"with the {link.header}-byte link header)")
    return frame


def lines(fd: int, limit: int = MAX_LINE) -> Iterator[bytes]:
    """The lines read from ``fd`` (the last one may lack its newline); BadInput for a
    line longer than ``limit`` (memory stays bounded by it)."""
    pending = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield pending
            return
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from whole
        if len(pending) > limit:
            raise BadInput(f"a line of input over {limit} bytes (one frame per line)")


# -- receiving ------------------------------------------------------------------

def receive(sock: socket.socket, ep: Endpoint, buffer: bytearray) -> Message | None:
    """One datagram or frame, None for a frame going out (rule 6) or an IPv4 packet
    whose header is not whole. ``buffer`` is reused (RECV_BUFFER bytes)."""
    size, address = sock.recvfrom_into(buffer, len(buffer), socket.MSG_TRUNC)
    cut = size > len(buffer)
    data = bytes(buffer[:min(size, len(buffer))])
    if ep.scheme == "packet":
        if address[2] == PACKET_OUTGOING:
            return None
        return Message(data, str(address[0]), cut=cut)
    source = str(address[0])
    if ep.family == socket.AF_INET6:
        return Message(data, source, cut=cut)
    # rule 3: the IPv4 header comes first, its length (IHL) in 32-bit words (RFC 791)
    header = (data[0] & 0xF) * 4 if data else 0
    if not 20 <= header <= len(data) or data[0] >> 4 != 4:
        return None
    return Message(data[header:], source, header, data, cut)


def summary(message: Message, ep: Endpoint, link: Link | None) -> str:
    """One line on a message, from socklab's capture decoders where it has the
    headers (an IPv4 packet, a frame of an Ethernet or loopback device)."""
    from socklab.capture import decode
    from socklab.capture.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW
    from socklab.capture.text import Printer

    if ep.scheme == "packet":
        kind = (LINKTYPE_ETHERNET if link is None or link.header == 14
                else LINKTYPE_RAW)
        packet = decode.decode_packet(message.data, kind)
    elif message.whole:
        packet = decode.decode_packet(message.whole, LINKTYPE_RAW)
    else:
        return f"IP6 {message.source} > {ep.host or '(any)'}: ip-proto-{protocol_number(ep)} " \
               f"{len(message.data)}"
    return Printer().body(packet)


def _shown(message: Message, ep: Endpoint) -> bytes:
    return frame_line(message.data) if ep.scheme == "packet" else message.data


def described(message: Message) -> str:
    """``5 bytes from 127.0.0.1 (after its 20-byte IPv4 header)``, for the log."""
    tail = f" (after its {message.header}-byte IPv4 header)" if message.header else ""
    cut = f" (cut at {RECV_BUFFER} bytes)" if message.cut else ""
    return f"{len(message.data)} bytes from {message.source}{tail}{cut}"


def serve(sock: socket.socket, ep: Endpoint, out: BinaryIO, *,
          log: Callable[[str], None] | None = None, verbose: Callable[[str], None] | None = None,
          link: Link | None = None, max_messages: int | None = None) -> int:
    """A listener: write each message to ``out`` (payload bytes; a frame as a hex line),
    say where it came from through ``log`` and its decoded summary through
    ``verbose``; stop after ``max_messages``. Returns the count."""
    buffer = bytearray(RECV_BUFFER)
    count = 0
    while max_messages is None or count < max_messages:
        try:
            message = receive(sock, ep, buffer)
        except OSError as exc:
            raise from_oserror(exc, f"receive on {ep}") from exc
        if message is None:
            continue
        count += 1
        if log is not None and ep.scheme != "packet":
            log(described(message))
        if verbose is not None:
            verbose(summary(message, ep, link))
        out.write(_shown(message, ep))
        out.flush()
    return count


def talk(sock: socket.socket, ep: Endpoint, stdin_fd: int, out: BinaryIO,
         timeout: float | None = None, *, link: Link | None = None,
         verbose: Callable[[str], None] | None = None) -> None:
    """A client: each chunk of ``stdin_fd`` sent as one datagram's payload (ip4/ip6), or
    each hex line as one frame (packet), while what arrives is written to ``out`` as
    :func:`serve` writes it; after the input ends, answers are awaited ``timeout``
    seconds of silence (:func:`socklab.talk.dgram.talk`'s rule 3)."""
    from socklab.talk import dgram

    buffer = bytearray(RECV_BUFFER)

    def inputs() -> Iterator[bytes]:
        if ep.scheme != "packet" or link is None:
            size = IP_PAYLOAD.get(ep.family, 65507)
            shortest = (IPV6_CHECKSUMMED.get(protocol_number(ep), 0)
                        if ep.family == socket.AF_INET6 else 0)
            while chunk := os.read(stdin_fd, size):
                if len(chunk) < shortest:
                    raise BadInput(f"{ep}: a datagram of {len(chunk)} bytes; protocol "
                                   f"{protocol_number(ep)} needs {shortest} or more (the "
                                   f"kernel writes its checksum: RFC 3542 3.1)")
                yield chunk
            return
        for number, line in enumerate(lines(stdin_fd), 1):
            frame = parse_frame_line(line, link, number)
            if frame is not None:
                if verbose is not None:
                    verbose("sent: " + summary(Message(frame, link.name), ep, link))
                yield frame

    def received() -> bytes | None:
        message = receive(sock, ep, buffer)
        if message is None:
            return None
        if verbose is not None:
            verbose(summary(message, ep, link))
        return _shown(message, ep)

    dgram.talk(sock, stdin_fd, out, timeout, inputs=inputs(), receive=received)
