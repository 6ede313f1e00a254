"""sock_diag requests and replies, as bytes: pure, no socket here.

Layouts mirror ``<linux/inet_diag.h>``, ``<linux/unix_diag.h>``,
``<linux/packet_diag.h>``, ``<linux/netlink_diag.h>`` and ``struct tcp_info``
in ``<linux/tcp.h>``. Each ``decode_*`` takes the receive buffer and the
bounds of one message's payload and returns a :class:`SocketRecord`. TCP and
UDP replies, most of a big table, are read by chunk decoders instead, in runs
of equal-length messages with one ``struct.iter_unpack`` each (a 60,000-socket
dump is decoded in about 45 ms here).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from socklab.kernel.netlink import NLMSGHDR, attr, attrs, control
from socklab.socktable.model import (
    NETLINK_PROTOCOLS,
    TCP_STATES,
    TIMER_NAMES,
    Row,
    SkMem,
    SocketRecord,
    TcpInfo,
    Timer,
    row_of,
)

SOCK_DIAG_BY_FAMILY = 20

# inet_diag_req_v2: family, protocol, ext, pad, states, sockid(sport, dport, src, dst, if, cookie)
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI HH16s16sI8s")
# inet_diag_msg: family, state, timer, retrans, sport, dport (network order, swapped below),
# src, dst, if, cookie, expires, rqueue, wqueue, uid, inode
INET_DIAG_MSG = struct.Struct("=BBBBHH16s16sIQIIIII")
UNIX_DIAG_REQ = struct.Struct("=BBxxIII8s")
UNIX_DIAG_MSG = struct.Struct("=BBBxIQ")
PACKET_DIAG_REQ = struct.Struct("=BBxxII8s")
PACKET_DIAG_MSG = struct.Struct("=BBHIQ")
NETLINK_DIAG_REQ = struct.Struct("=BBxxII8s")
NETLINK_DIAG_MSG = struct.Struct("=BBBBIIIIQ")
U32 = struct.Struct("=I")
U32X2 = struct.Struct("=II")
SKMEM = struct.Struct("=9I")
# struct tcp_info, 232 bytes on 6.x kernels; older kernels send a prefix (zero-padded here).
TCP_INFO = struct.Struct("=8B24I4Q6IQ3Q2I2Q4I")

# inet_diag attribute types and the idiag_ext bits that request them
INET_DIAG_MEMINFO, INET_DIAG_INFO, INET_DIAG_CONG = 1, 2, 4
INET_DIAG_SKMEMINFO, INET_DIAG_PROTOCOL = 7, 10
INET_DIAG_REQ_BYTECODE = 1
EXT_INFO = 1 << (INET_DIAG_INFO - 1)
EXT_CONG = 1 << (INET_DIAG_CONG - 1)
EXT_SKMEM = 1 << (INET_DIAG_SKMEMINFO - 1)

UNIX_DIAG_NAME, UNIX_DIAG_PEER, UNIX_DIAG_RQLEN, UNIX_DIAG_MEMINFO, UNIX_DIAG_UID = 0, 2, 4, 5, 7
UDIAG_SHOW_NAME, UDIAG_SHOW_PEER, UDIAG_SHOW_RQLEN = 0x1, 0x4, 0x10
UDIAG_SHOW_MEMINFO, UDIAG_SHOW_UID = 0x20, 0x40
PACKET_DIAG_INFO, PACKET_DIAG_UID, PACKET_DIAG_MEMINFO = 0, 5, 6
PACKET_SHOW_INFO, PACKET_SHOW_MEMINFO = 0x1, 0x10
NETLINK_DIAG_MEMINFO = 0
NDIAG_SHOW_MEMINFO = 0x1

ALL_STATES = 0xFFFFFFFF
NO_COOKIE = b"\xff" * 8

_ntohs = socket.ntohs
_ntop = socket.inet_ntop
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6


def inet_request(family: int, protocol: int, states: int = ALL_STATES, ext: int = 0,
                 bytecode: bytes = b"", raw_protocol: int = 0) -> bytes:
    """An ``inet_diag_req_v2`` (``raw_protocol`` fills the pad byte for RAW sockets)."""
    req = bytearray(INET_DIAG_REQ_V2.pack(family, protocol, ext, states, 0, 0, b"", b"", 0,
                                          NO_COOKIE))
    req[3] = raw_protocol
    if bytecode:
        req += attr(INET_DIAG_REQ_BYTECODE, bytecode)
    return bytes(req)


INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE, INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE = 2, 3, 4, 5
BC_OP = struct.Struct("=BBH")  # inet_diag_bc_op: code, yes, no


def port_bytecode(sport: tuple[int, int] | None = None,
                  dport: tuple[int, int] | None = None) -> bytes:
    """inet_diag bytecode that keeps only sockets whose local port is in ``sport``
    and whose peer port is in ``dport`` (inclusive ranges), so the kernel filters
    before anything is copied out, as ``ss sport = :443`` does.

    Each test is two ``inet_diag_bc_op``s (the second carries the port in ``no``);
    on success the kernel steps ``yes`` bytes to the next test, on failure
    ``no`` bytes, 4 past the end: a socket is kept when the walk ends exactly at
    the end (``inet_diag_bc_run``). Only GE/LE, which every kernel audits."""
    tests: list[tuple[int, int]] = []
    for rng, ge, le in ((sport, INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE),
                        (dport, INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE)):
        if rng is None:
            continue
        low, high = rng
        if low > 0:
            tests.append((ge, low))
        if high < 0xFFFF:
            tests.append((le, high))
    total = 8 * len(tests)
    out = bytearray()
    for i, (code, port) in enumerate(tests):
        out += BC_OP.pack(code, 8, total - 8 * i + 4) + BC_OP.pack(0, 0, port)
    return bytes(out)


def unix_request(show: int = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID,
                 states: int = ALL_STATES) -> bytes:
    return UNIX_DIAG_REQ.pack(socket.AF_UNIX, 0, states, 0, show, NO_COOKIE)


def packet_request(show: int = PACKET_SHOW_INFO) -> bytes:
    return PACKET_DIAG_REQ.pack(socket.AF_PACKET, 0, 0, show, NO_COOKIE)


def netlink_request(show: int = 0) -> bytes:
    return NETLINK_DIAG_REQ.pack(socket.AF_NETLINK, 0xFF, 0, show, NO_COOKIE)


def _tcp_info(buf: memoryview, start: int, end: int, cong: str | None) -> TcpInfo:
    raw = bytes(buf[start:end])
    if len(raw) < TCP_INFO.size:
        raw += b"\0" * (TCP_INFO.size - len(raw))
    v = TCP_INFO.unpack_from(raw)
    # 0-7 u8s; 8-31 u32 rto..total_retrans; 32-35 u64 pacing, max_pacing, acked, received;
    # 36-41 u32 segs_out, segs_in, notsent, min_rtt, data_segs_in, data_segs_out;
    # 42 u64 delivery_rate; 43-45 u64 busy, rwnd_limited, sndbuf_limited; 46-47 u32;
    # 48-49 u64 bytes_sent, bytes_retrans; 50-53 u32
    return TcpInfo(
        v[0], v[1], v[2], v[3], v[4], v[5], v[6] & 0xF, v[6] >> 4,
        v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15],
        v[17], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26], v[27], v[28],
        v[29], v[30], v[31], v[32], v[34], v[35], v[36], v[37], v[38], v[39], v[42],
        v[48], v[49], cong,
    )


# nlmsghdr followed by inet_diag_msg, unpacked in one call per socket
NL_INET_DIAG_MSG = struct.Struct("=IHHII" + INET_DIAG_MSG.format.lstrip("="))
_tuple_new = tuple.__new__
_FAMILY_NAMES = {_AF_INET: "inet", _AF_INET6: "inet6"}
# the states as a tuple indexed by number (TCP_STATES has no 0, and kernels may add states)
_STATE_NAMES = tuple(TCP_STATES.get(i, str(i)) for i in range(max(TCP_STATES) + 1))
_LAST_STATE = len(_STATE_NAMES) - 1

ChunkDecoder = Callable[[memoryview, int], tuple[list[Any], bool]]
RunDecoder = Callable[[Iterator[tuple[Any, ...]], int, list[Any]], None]


def _in_runs(layout: Callable[[int], struct.Struct], decode_run: RunDecoder,
             fallback: ChunkDecoder) -> ChunkDecoder:
    """A chunk decoder that reads ``inet_diag_msg`` replies in runs.

    The kernel sends the sockets of a dump with the same attributes (TIME-WAIT
    ones with fewer), so the messages come in runs of one length: one
    ``struct.iter_unpack`` over a run, with the ``layout(length)`` struct
    (whose first two fields are the netlink length and type), replaces a call
    per socket. ``decode_run(tuples, length, out)`` appends an item per tuple
    to ``out`` and stops at the first of another length or type (the next run,
    or the DONE). A message whose length this cannot step over (not a multiple
    of 4, or too short) sends the whole chunk to ``fallback``.
    """
    formats: dict[int, struct.Struct] = {}

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        out: list[Any] = []
        off = 0
        while off < n:
            size, mtype = NLMSGHDR.unpack_from(buf, off)[:2]
            if mtype != SOCK_DIAG_BY_FAMILY:  # the DONE at the end, or an error
                if control(buf, mtype, off + 16, off + size):
                    return out, True
                off += max((size + 3) & ~3, 16)
                continue
            if size < NL_INET_DIAG_MSG.size or size & 3 or off + size > n:
                return fallback(buf, n)
            st = formats.get(size)
            if st is None:
                st = formats[size] = layout(size)
            first = len(out)
            decode_run(st.iter_unpack(buf[off:n - (n - off) % size]), size, out)
            off += (len(out) - first) * size
        return out, False

    return decode_chunk


def inet_chunk_decoder(netid: str, want_ext: bool = False) -> ChunkDecoder:
    """A chunk decoder (``NetlinkSocket.dump_chunks``) of ``inet_diag_msg`` replies
    into records (:class:`SocketRecord`).

    The hot path of ``socklab.sockets()``: messages read in runs
    (:func:`_in_runs`), addresses converted once per distinct value, records
    built with ``tuple.__new__``. Replies with extensions (``want_ext``:
    tcp_info, memory, timers) and RAW ones (the protocol is an attribute) are
    read one by one, attributes and all.
    """
    cache: dict[bytes, str] = {}
    one_by_one = _inet_messages(netid, want_ext, cache)
    if want_ext or netid == "raw":
        return one_by_one
    cls = SocketRecord
    names, last, fam_names = _STATE_NAMES, _LAST_STATE, _FAMILY_NAMES

    def layout(size: int) -> struct.Struct:
        # len, type; family, state, sport, dport, src, dst, if, cookie, rqueue, wqueue, uid, inode
        return struct.Struct(f"=IH10xBB2xHH16s16sIQ4xIIII{size - 88}x")

    def decode_run(run: Iterator[tuple[Any, ...]], size: int, out: list[SocketRecord]) -> None:
        append = out.append
        for (length, mtype, family, state, sport, dport, src, dst, ifindex, cookie, rqueue,
             wqueue, uid, inode) in run:
            if length != size or mtype != SOCK_DIAG_BY_FAMILY:
                return
            ls = cache.get(src)
            if ls is None:
                ls = cache[src] = _ntop(family, src[:4] if family == _AF_INET else src)
            ps = cache.get(dst)
            if ps is None:
                ps = cache[dst] = _ntop(family, dst[:4] if family == _AF_INET else dst)
            append(_tuple_new(cls, (
                netid, fam_names[family], names[state] if state <= last else str(state),
                rqueue, wqueue, ls, _ntohs(sport), ps, _ntohs(dport), inode, uid, ifindex,
                None, None, cookie, None, None, None, None, None)))

    return _in_runs(layout, decode_run, one_by_one)


def inet_row_decoder(netid: str, family: int) -> ChunkDecoder:
    """A chunk decoder of ``inet_diag_msg`` replies (TCP or UDP, one family) into
    the plain table's rows (:data:`Row`), with no record in between: what
    ``socklab sockets -tan`` prints, and nothing it does not. Each row equals
    ``row_of`` of the record :func:`inet_chunk_decoder` makes of the same reply.
    """
    records = inet_chunk_decoder(netid)
    cache: dict[bytes, str] = {}
    names, last = _STATE_NAMES, _LAST_STATE
    alen = 4 if family == _AF_INET else 16
    bracket = "%s" if family == _AF_INET else "[%s]"

    def layout(size: int) -> struct.Struct:
        # len, type; state, sport, dport, src, dst, rqueue, wqueue
        return struct.Struct(
            f"=IH11xB2xHH{alen}s{16 - alen}x{alen}s{16 - alen}x16xII8x{size - 88}x")

    def decode_run(run: Iterator[tuple[Any, ...]], size: int, out: list[Row]) -> None:
        append = out.append
        for length, mtype, state, sport, dport, src, dst, rq, wq in run:
            if length != size or mtype != SOCK_DIAG_BY_FAMILY:
                return
            local = cache.get(src)
            if local is None:
                local = cache[src] = bracket % _ntop(family, src)
            peer = cache.get(dst)
            if peer is None:
                peer = cache[dst] = bracket % _ntop(family, dst)
            append((netid, names[state] if state <= last else str(state), rq, wq,
                    f"{local}:{_ntohs(sport) or '*'}", f"{peer}:{_ntohs(dport) or '*'}"))

    def as_rows(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        got, done = records(buf, n)
        return list(map(row_of, got)), done

    return _in_runs(layout, decode_run, as_rows)


def _inet_messages(netid: str, want_ext: bool, cache: dict[bytes, str]) -> ChunkDecoder:
    """The one-by-one ``inet_diag_msg`` decoder: every message with its attributes."""
    unpack = NL_INET_DIAG_MSG.unpack_from
    names = TCP_STATES
    cls = SocketRecord
    is_raw = netid == "raw"
    fam_names = _FAMILY_NAMES

    def text(family: int, raw: bytes) -> str:
        s = cache.get(raw)
        if s is None:
            s = cache[raw] = _ntop(family, raw[:4] if family == _AF_INET else raw)
        return s

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[SocketRecord], bool]:
        out: list[SocketRecord] = []
        append = out.append
        off = 0
        while off < n:
            if n - off < 88:  # too short for a socket: the final DONE (or an error)
                length, mtype = NLMSGHDR.unpack_from(buf, off)[:2]
                if control(buf, mtype, off + 16, off + length):
                    return out, True
                off += max((length + 3) & ~3, 16)
                continue
            (length, mtype, _fl, _seq, _pid, family, state, timer, retrans, sport, dport, src,
             dst, ifindex, cookie, expires, rqueue, wqueue, uid, inode) = unpack(buf, off)
            if mtype != SOCK_DIAG_BY_FAMILY:
                if control(buf, mtype, off + 16, off + length):
                    return out, True
                off += max((length + 3) & ~3, 16)
                continue
            protocol = info = mem = tmr = None
            a = attrs(buf, off + 88, off + length)
            if is_raw and INET_DIAG_PROTOCOL in a:
                protocol = str(buf[a[INET_DIAG_PROTOCOL][0]])
            if want_ext:
                tmr, mem, info = _inet_ext(buf, a, timer, expires, retrans)
            append(_tuple_new(cls, (
                netid, fam_names[family], names.get(state) or str(state), rqueue, wqueue,
                text(family, src), _ntohs(sport), text(family, dst), _ntohs(dport), inode, uid,
                ifindex, None, protocol, cookie, None, None, tmr, mem, info)))
            off += max((length + 3) & ~3, 16)
        return out, False

    return decode_chunk


def _inet_ext(buf: memoryview, a: dict[int, tuple[int, int]], timer: int, expires: int,
              retrans: int) -> tuple[Timer | None, SkMem | None, TcpInfo | None]:
    tmr = mem = info = None
    if timer or expires:
        tmr = Timer(TIMER_NAMES.get(timer, str(timer)), expires, retrans)
    if INET_DIAG_SKMEMINFO in a:
        mem = SkMem._make(SKMEM.unpack_from(buf, a[INET_DIAG_SKMEMINFO][0]))
    if INET_DIAG_INFO in a:
        cong = None
        if INET_DIAG_CONG in a:
            cs, ce = a[INET_DIAG_CONG]
            cong = bytes(buf[cs:ce]).split(b"\0", 1)[0].decode()
        s, e = a[INET_DIAG_INFO]
        info = _tcp_info(buf, s, e, cong)
    return tmr, mem, info


_UNIX_NETIDS = {socket.SOCK_STREAM: "u_str", socket.SOCK_DGRAM: "u_dgr",
                socket.SOCK_SEQPACKET: "u_seq"}


def decode_unix(buf: memoryview, start: int, end: int) -> SocketRecord:
    _family, stype, state, inode, cookie = UNIX_DIAG_MSG.unpack_from(buf, start)
    a = attrs(buf, start + UNIX_DIAG_MSG.size, end)
    name = "*"
    if UNIX_DIAG_NAME in a:
        s, e = a[UNIX_DIAG_NAME]
        raw = bytes(buf[s:e])
        # a path comes with the terminating NUL the binder passed; an abstract
        # name is taken as it is (its bytes are the name, NULs included)
        name = ("@" + raw[1:].decode(errors="backslashreplace") if raw[:1] == b"\0"
                else raw.rstrip(b"\0").decode(errors="backslashreplace"))
    peer = U32.unpack_from(buf, a[UNIX_DIAG_PEER][0])[0] if UNIX_DIAG_PEER in a else 0
    rq = wq = None
    if UNIX_DIAG_RQLEN in a:
        rq, wq = U32X2.unpack_from(buf, a[UNIX_DIAG_RQLEN][0])
    uid = U32.unpack_from(buf, a[UNIX_DIAG_UID][0])[0] if UNIX_DIAG_UID in a else None
    mem = SkMem._make(SKMEM.unpack_from(buf, a[UNIX_DIAG_MEMINFO][0])) \
        if UNIX_DIAG_MEMINFO in a else None
    return SocketRecord(_UNIX_NETIDS.get(stype, f"u_{stype}"), "unix",
                        TCP_STATES.get(state, str(state)), rq, wq, name, None,
                        "*", None, inode, uid, 0, peer, None, cookie, memory=mem)


def decode_packet(buf: memoryview, start: int, end: int) -> SocketRecord:
    _family, stype, num, inode, cookie = PACKET_DIAG_MSG.unpack_from(buf, start)
    a = attrs(buf, start + PACKET_DIAG_MSG.size, end)
    ifindex = U32.unpack_from(buf, a[PACKET_DIAG_INFO][0])[0] if PACKET_DIAG_INFO in a else 0
    uid = U32.unpack_from(buf, a[PACKET_DIAG_UID][0])[0] if PACKET_DIAG_UID in a else None
    mem = SkMem._make(SKMEM.unpack_from(buf, a[PACKET_DIAG_MEMINFO][0])) \
        if PACKET_DIAG_MEMINFO in a else None
    netid = "p_raw" if stype == socket.SOCK_RAW else "p_dgr"
    proto = num  # packet_diag_fill() already gives it in host order (ntohs(po->num))
    return SocketRecord(netid, "packet", "UNCONN", None, None, str(ifindex) if ifindex else "*",
                        None, "*", None, inode, uid, ifindex, None, f"0x{proto:04x}", cookie,
                        memory=mem)


def decode_netlink(buf: memoryview, start: int, end: int) -> SocketRecord:
    (_family, _stype, protocol, _state, portid, _dst_portid, _dst_group, inode,
     cookie) = NETLINK_DIAG_MSG.unpack_from(buf, start)
    a = attrs(buf, start + NETLINK_DIAG_MSG.size, end)
    mem = SkMem._make(SKMEM.unpack_from(buf, a[NETLINK_DIAG_MEMINFO][0])) \
        if NETLINK_DIAG_MEMINFO in a else None
    name = NETLINK_PROTOCOLS.get(protocol, str(protocol))
    # portid is signed in ss's output (kernel-bound sockets have negative ids)
    port = portid - (1 << 32) if portid >= 1 << 31 else portid
    return SocketRecord("nl", "netlink", "UNCONN", None, None, name, port, "*", None, inode,
                        None, 0, None, name, cookie, memory=mem)


def state_mask(states: Iterable[int]) -> int:
    mask = 0
    for s in states:
        mask |= 1 << s
    return mask
