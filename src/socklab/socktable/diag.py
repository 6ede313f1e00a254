"""sock_diag requests and replies, as bytes: pure, no socket here.

Layouts mirror ``<linux/inet_diag.h>``, ``<linux/unix_diag.h>``,
``<linux/packet_diag.h>``, ``<linux/netlink_diag.h>`` and ``struct tcp_info``
in ``<linux/tcp.h>``. Each ``decode_*`` takes the receive buffer and the
bounds of one message's payload and returns a :class:`SocketRecord`. TCP and
UDP replies, most of a big table, are read by chunk decoders instead, in runs
of equal-length messages with one ``struct.iter_unpack`` each (a 60,000-socket
dump is decoded in about 45 ms here).

A reply that cannot be read raises :class:`~socklab.errors.Malformed` naming
the offset and what is wrong; the chunk decoders can leave such a message out
instead (``on_malformed``), as the socket table does.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from socklab.errors import Malformed
from socklab.kernel.netlink import (
    NLMSGHDR,
    OnMalformed,
    attr,
    attrs,
    bad_length,
    control,
    fixed,
)
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
INET_DIAG_SKMEMINFO, INET_DIAG_PROTOCOL, INET_DIAG_SKV6ONLY = 7, 10, 11
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
_ANY6 = bytes(16)  # in6addr_any, and 0.0.0.0 as inet_diag pads it: told apart by family
U8 = struct.Struct("=B")

ChunkDecoder = Callable[[memoryview, int], tuple[list[Any], bool]]


class _ReadOneByOne(Exception):
    """A run found something it does not check for: the chunk is read again one by one."""


# decode_run(tuples, length, out, buf, offset of the run's first message)
RunDecoder = Callable[[Iterator[tuple[Any, ...]], int, list[Any], memoryview, int], None]


def _in_runs(layout: Callable[[int], struct.Struct], decode_run: RunDecoder,
             fallback: ChunkDecoder) -> ChunkDecoder:
    """A chunk decoder that reads ``inet_diag_msg`` replies in runs.

    The kernel sends the sockets of a dump with the same attributes (TIME-WAIT
    ones with fewer), so the messages come in runs of one length: one
    ``struct.iter_unpack`` over a run, with the ``layout(length)`` struct
    (whose first two fields are the netlink length and type), replaces a call
    per socket. ``decode_run(tuples, length, out, buf, offset)`` appends an
    item per tuple to ``out`` and stops at the first of another length, type
    or family (the next run, or the DONE).

    The runs trust what they read; a chunk they cannot read (a length they
    cannot step over, an unknown family, an attribute past its message) is
    read again from its start by ``fallback``, one message at a time, which
    finds the message at fault and says what is wrong with it: checking each
    message here would slow every listing for replies the kernel never sends.
    """
    formats: dict[int, struct.Struct] = {}

    def in_runs(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        out: list[Any] = []
        off = 0
        while off < n:
            if n - off < 16:
                raise _ReadOneByOne
            size, mtype = NLMSGHDR.unpack_from(buf, off)[:2]
            if mtype != SOCK_DIAG_BY_FAMILY:  # the DONE at the end, or an error
                if size < 16 or off + size > n:
                    raise _ReadOneByOne
                if control(buf, mtype, off + 16, off + size):
                    return out, True
                off += (size + 3) & ~3
                continue
            if size < NL_INET_DIAG_MSG.size or size & 3 or off + size > n:
                raise _ReadOneByOne
            st = formats.get(size)
            if st is None:
                st = formats[size] = layout(size)
            first = len(out)
            decode_run(st.iter_unpack(buf[off:n - (n - off) % size]), size, out, buf, off)
            if len(out) == first:  # not even the first message: not one of ours
                raise _ReadOneByOne
            off += (len(out) - first) * size
        return out, False

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        try:
            return in_runs(buf, n)
        except (_ReadOneByOne, ValueError, KeyError, struct.error):  # Malformed: a ValueError
            return fallback(buf, n)

    return decode_chunk


def _v6only(buf: memoryview, start: int, end: int) -> bool | None:
    """INET_DIAG_SKV6ONLY among the attributes in ``buf[start:end]``: whether an
    IPv6 socket refuses IPv4 (IPV6_V6ONLY). The kernel sends it for listening
    and unconnected IPv6 sockets (``inet_diag_msg_attrs_fill``); None without it."""
    span = attrs(buf, start, end).get(INET_DIAG_SKV6ONLY)
    return None if span is None else bool(fixed(buf, span, U8, "INET_DIAG_SKV6ONLY")[0])


def inet_chunk_decoder(netid: str, want_ext: bool = False,
                       on_malformed: OnMalformed = None) -> ChunkDecoder:
    """A chunk decoder (``NetlinkSocket.dump_chunks``) of ``inet_diag_msg`` replies
    into records (:class:`SocketRecord`).

    The hot path of ``socklab.sockets()``: messages read in runs
    (:func:`_in_runs`), addresses converted once per distinct value and
    family, records built with ``tuple.__new__``. Replies with extensions
    (``want_ext``: tcp_info, memory, timers) and RAW ones (the protocol is an
    attribute) are read one by one, attributes and all.

    A message that cannot be read is handed to ``on_malformed`` and left out,
    or raised as Malformed when it is None; a length that cannot be followed to
    the next message is raised (the rest of the chunk is lost).
    """
    # One cache per family: 0.0.0.0, padded to 16 bytes as inet_diag sends it, is ::
    caches: dict[int, dict[bytes, str]] = {_AF_INET: {}, _AF_INET6: {}}
    one_by_one = _inet_messages(netid, want_ext, caches, on_malformed)
    if want_ext or netid == "raw":
        return one_by_one
    cls = SocketRecord
    names, last = _STATE_NAMES, _LAST_STATE
    c4, c6 = caches[_AF_INET], caches[_AF_INET6]

    def layout(size: int) -> struct.Struct:
        # len, type; family, state, sport, dport, src, dst, if, cookie, rqueue, wqueue, uid, inode
        return struct.Struct(f"=IH10xBB2xHH16s16sIQ4xIIII{size - 88}x")

    # A run is read by the loop of its first message's family, and ends where the
    # family changes: each family has its own address cache, and only IPv6 has
    # the v6-only flag to read.
    def decode_run(run: Iterator[tuple[Any, ...]], size: int, out: list[SocketRecord],
                   buf: memoryview, off: int) -> None:
        append = out.append
        fam = buf[off + 16]
        if fam == _AF_INET:
            for (length, mtype, family, state, sport, dport, src, dst, ifindex, cookie, rqueue,
                 wqueue, uid, inode) in run:
                if length != size or mtype != SOCK_DIAG_BY_FAMILY or family != fam:
                    return
                ls = c4.get(src)
                if ls is None:
                    ls = c4[src] = _ntop(fam, src[:4])
                ps = c4.get(dst)
                if ps is None:
                    ps = c4[dst] = _ntop(fam, dst[:4])
                append(_tuple_new(cls, (
                    netid, "inet", names[state] if state <= last else str(state),
                    rqueue, wqueue, ls, _ntohs(sport), ps, _ntohs(dport), inode, uid, ifindex,
                    None, None, cookie, None, None, None, None, None, None)))
        elif fam == _AF_INET6:
            first = len(out)
            for (length, mtype, family, state, sport, dport, src, dst, ifindex, cookie, rqueue,
                 wqueue, uid, inode) in run:
                if length != size or mtype != SOCK_DIAG_BY_FAMILY or family != fam:
                    return
                v6only = None
                if state in (10, 7):  # LISTEN, CLOSE: the states the kernel says it for
                    at = off + (len(out) - first) * size
                    v6only = _v6only(buf, at + 88, at + size)
                ls = c6.get(src)
                if ls is None:
                    ls = c6[src] = _ntop(fam, src)
                ps = c6.get(dst)
                if ps is None:
                    ps = c6[dst] = _ntop(fam, dst)
                append(_tuple_new(cls, (
                    netid, "inet6", names[state] if state <= last else str(state),
                    rqueue, wqueue, ls, _ntohs(sport), ps, _ntohs(dport), inode, uid, ifindex,
                    None, None, cookie, None, None, None, None, None, v6only)))

    return _in_runs(layout, decode_run, one_by_one)


def inet_row_decoder(netid: str, family: int, on_malformed: OnMalformed = None,
                     by_inode: Mapping[int, str] | None = None) -> ChunkDecoder:
    """A chunk decoder of ``inet_diag_msg`` replies (TCP or UDP, one family) into
    the plain table's rows (:data:`Row`), with no record in between: what
    ``socklab sockets -tan`` prints, and nothing it does not. Each row equals
    ``row_of`` of the record :func:`inet_chunk_decoder` makes of the same reply.
    ``on_malformed`` as there.

    ``by_inode``: each row gets a seventh field, ``by_inode.get(inode, "")`` for
    its socket's inode (``sockets -tanp``: the owners' text, looked up while the
    reply is read rather than in a record made for it).
    """
    records = inet_chunk_decoder(netid, on_malformed=on_malformed)
    cache: dict[bytes, str] = {}
    names, last = _STATE_NAMES, _LAST_STATE
    alen = 4 if family == _AF_INET else 16
    bracket = "%s" if family == _AF_INET else "[%s]"
    v6 = family == _AF_INET6
    # The wildcard is never cached for IPv6: ss prints it "*" (a dual-stack socket)
    # or "[::]" (IPV6_V6ONLY), which only the socket's own attributes tell.
    any6 = _ANY6 if v6 else None

    def layout(size: int) -> struct.Struct:
        # len, type; state, sport, dport, src, dst, rqueue, wqueue[, inode]
        return struct.Struct(
            f"=IH11xB2xHH{alen}s{16 - alen}x{alen}s{16 - alen}x16xII"
            f"{'4xI' if by_inode is not None else '8x'}{size - 88}x")

    def ends(buf: memoryview, src: bytes, dst: bytes, at: int, size: int) -> tuple[str, str]:
        """The address texts of the message at ``at``, one of them not cached yet."""
        local = cache.get(src)
        if local is None:
            if src == any6:
                local = "[::]" if _v6only(buf, at + 88, at + size) else "*"
            else:
                local = cache[src] = bracket % _ntop(family, src)
        peer = cache.get(dst)
        if peer is None:
            if dst == any6:
                peer = "[::]" if _v6only(buf, at + 88, at + size) else "*"
            else:
                peer = cache[dst] = bracket % _ntop(family, dst)
        return local, peer

    # The family is checked once a run, on its first message: the kernel sends only
    # the family asked for (inet_diag_dump_icsk skips the others). Two loops, the
    # same but for the inode's lookup: the plain one is the hot path of -tan.
    def decode_run(run: Iterator[tuple[Any, ...]], size: int, out: list[Row],
                   buf: memoryview, off: int) -> None:
        if buf[off + 16] != family:
            return  # not one of ours: read again one by one, as records
        append = out.append
        get = cache.get
        first = len(out)
        for length, mtype, state, sport, dport, src, dst, rq, wq in run:
            if length != size or mtype != SOCK_DIAG_BY_FAMILY:
                return
            local = get(src)
            peer = get(dst)
            if local is None or peer is None:
                local, peer = ends(buf, src, dst, off + (len(out) - first) * size, size)
            append((netid, names[state] if state <= last else str(state), rq, wq,
                    f"{local}:{_ntohs(sport) or '*'}", f"{peer}:{_ntohs(dport) or '*'}"))

    def decode_owned_run(run: Iterator[tuple[Any, ...]], size: int, out: list[Any],
                         buf: memoryview, off: int) -> None:
        if buf[off + 16] != family:
            return
        assert by_inode is not None
        append = out.append
        get = cache.get
        extra = by_inode.get
        first = len(out)
        for length, mtype, state, sport, dport, src, dst, rq, wq, inode in run:
            if length != size or mtype != SOCK_DIAG_BY_FAMILY:
                return
            local = get(src)
            peer = get(dst)
            if local is None or peer is None:
                local, peer = ends(buf, src, dst, off + (len(out) - first) * size, size)
            append((netid, names[state] if state <= last else str(state), rq, wq,
                    f"{local}:{_ntohs(sport) or '*'}", f"{peer}:{_ntohs(dport) or '*'}",
                    extra(inode, "")))

    def as_rows(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        got, done = records(buf, n)
        if by_inode is None:
            return list(map(row_of, got)), done
        return [(*row_of(r), by_inode.get(r.inode, "")) for r in got], done

    return _in_runs(layout, decode_run if by_inode is None else decode_owned_run, as_rows)


def _inet_messages(netid: str, want_ext: bool, caches: dict[int, dict[bytes, str]],
                   on_malformed: OnMalformed) -> ChunkDecoder:
    """The one-by-one ``inet_diag_msg`` decoder: every message with its attributes,
    each checked (see :func:`inet_chunk_decoder` for what is done with a bad one)."""
    unpack = NL_INET_DIAG_MSG.unpack_from
    names = TCP_STATES
    cls = SocketRecord
    is_raw = netid == "raw"
    fam_names = _FAMILY_NAMES

    def text(family: int, raw: bytes) -> str:
        cache = caches[family]
        s = cache.get(raw)
        if s is None:
            s = cache[raw] = _ntop(family, raw[:4] if family == _AF_INET else raw)
        return s

    def one(buf: memoryview, off: int, length: int) -> SocketRecord:
        if length < NL_INET_DIAG_MSG.size:
            raise Malformed(f"{netid} sock_diag reply at offset {off}: {length} bytes, "
                            f"shorter than an inet_diag_msg ({NL_INET_DIAG_MSG.size})")
        (_length, _mtype, _fl, _seq, _pid, family, state, timer, retrans, sport, dport, src,
         dst, ifindex, cookie, expires, rqueue, wqueue, uid, inode) = unpack(buf, off)
        fam = fam_names.get(family)
        if fam is None:
            raise Malformed(f"{netid} sock_diag reply at offset {off}: unknown address "
                            f"family {family}")
        protocol = info = mem = tmr = v6only = None
        a = attrs(buf, off + 88, off + length)
        if is_raw and INET_DIAG_PROTOCOL in a:
            protocol = str(fixed(buf, a[INET_DIAG_PROTOCOL], U8, "INET_DIAG_PROTOCOL")[0])
        if family == _AF_INET6 and INET_DIAG_SKV6ONLY in a:
            v6only = bool(fixed(buf, a[INET_DIAG_SKV6ONLY], U8, "INET_DIAG_SKV6ONLY")[0])
        if want_ext:
            tmr, mem, info = _inet_ext(buf, a, timer, expires, retrans)
        return _tuple_new(cls, (
            netid, fam, names.get(state) or str(state), rqueue, wqueue,
            text(family, src), _ntohs(sport), text(family, dst), _ntohs(dport), inode, uid,
            ifindex, None, protocol, cookie, None, None, tmr, mem, info, v6only))

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[SocketRecord], bool]:
        out: list[SocketRecord] = []
        append = out.append
        off = 0
        while off < n:
            if n - off < 16:
                raise Malformed(f"{netid} sock_diag reply at offset {off}: {n - off} bytes "
                                "left, too short for a netlink header")
            length, mtype = NLMSGHDR.unpack_from(buf, off)[:2]
            if length < 16 or off + length > n:
                raise bad_length(off, length, n)
            if mtype != SOCK_DIAG_BY_FAMILY:
                if control(buf, mtype, off + 16, off + length):
                    return out, True
            else:
                try:
                    append(one(buf, off, length))
                except Malformed as exc:
                    if on_malformed is None:
                        raise
                    on_malformed(exc)
            off += (length + 3) & ~3
        return out, False

    return decode_chunk


def _inet_ext(buf: memoryview, a: dict[int, tuple[int, int]], timer: int, expires: int,
              retrans: int) -> tuple[Timer | None, SkMem | None, TcpInfo | None]:
    tmr = mem = info = None
    if timer or expires:
        tmr = Timer(TIMER_NAMES.get(timer, str(timer)), expires, retrans)
    if INET_DIAG_SKMEMINFO in a:
        mem = SkMem._make(fixed(buf, a[INET_DIAG_SKMEMINFO], SKMEM, "INET_DIAG_SKMEMINFO"))
    if INET_DIAG_INFO in a:
        cong = None
        if INET_DIAG_CONG in a:
            cs, ce = a[INET_DIAG_CONG]
            cong = bytes(buf[cs:ce]).split(b"\0", 1)[0].decode(errors="backslashreplace")
        s, e = a[INET_DIAG_INFO]
        info = _tcp_info(buf, s, e, cong)
    return tmr, mem, info


_UNIX_NETIDS: dict[int, str] = {socket.SOCK_STREAM: "u_str", socket.SOCK_DGRAM: "u_dgr",
                socket.SOCK_SEQPACKET: "u_seq"}


def _header(buf: memoryview, start: int, end: int, layout: struct.Struct,
            what: str) -> tuple[int, ...]:
    if end - start < layout.size:
        raise Malformed(f"sock_diag reply at offset {start - 16}: {end - start} bytes, "
                        f"shorter than a {what} ({layout.size})")
    return layout.unpack_from(buf, start)


def decode_unix(buf: memoryview, start: int, end: int) -> SocketRecord:
    """One ``unix_diag_msg`` (payload ``buf[start:end]``). Raises Malformed."""
    _family, stype, state, inode, cookie = _header(buf, start, end, UNIX_DIAG_MSG,
                                                   "unix_diag_msg")
    a = attrs(buf, start + UNIX_DIAG_MSG.size, end)
    name = "*"
    if UNIX_DIAG_NAME in a:
        s, e = a[UNIX_DIAG_NAME]
        raw = bytes(buf[s:e])
        # a path comes with the terminating NUL the binder passed; an abstract
        # name is taken as it is (its bytes are the name, NULs included)
        name = ("@" + raw[1:].decode(errors="backslashreplace") if raw[:1] == b"\0"
                else raw.rstrip(b"\0").decode(errors="backslashreplace"))
    peer = fixed(buf, a[UNIX_DIAG_PEER], U32, "UNIX_DIAG_PEER")[0] if UNIX_DIAG_PEER in a else 0
    rq = wq = None
    if UNIX_DIAG_RQLEN in a:
        rq, wq = fixed(buf, a[UNIX_DIAG_RQLEN], U32X2, "UNIX_DIAG_RQLEN")
    uid = fixed(buf, a[UNIX_DIAG_UID], U32, "UNIX_DIAG_UID")[0] if UNIX_DIAG_UID in a else None
    mem = SkMem._make(fixed(buf, a[UNIX_DIAG_MEMINFO], SKMEM, "UNIX_DIAG_MEMINFO")) \
        if UNIX_DIAG_MEMINFO in a else None
    return SocketRecord(_UNIX_NETIDS.get(stype, f"u_{stype}"), "unix",
                        TCP_STATES.get(state, str(state)), rq, wq, name, None,
                        "*", None, inode, uid, 0, peer, None, cookie, memory=mem)


def decode_packet(buf: memoryview, start: int, end: int) -> SocketRecord:
    """One ``packet_diag_msg``. Raises Malformed.

    Recv-Q is the memory the receive queue holds (``SK_MEMINFO_RMEM_ALLOC``) and
    Send-Q 0, as ss prints them; both None without PACKET_DIAG_MEMINFO."""
    _family, stype, num, inode, cookie = _header(buf, start, end, PACKET_DIAG_MSG,
                                                 "packet_diag_msg")
    a = attrs(buf, start + PACKET_DIAG_MSG.size, end)
    ifindex = fixed(buf, a[PACKET_DIAG_INFO], U32, "PACKET_DIAG_INFO")[0] \
        if PACKET_DIAG_INFO in a else 0
    uid = fixed(buf, a[PACKET_DIAG_UID], U32, "PACKET_DIAG_UID")[0] \
        if PACKET_DIAG_UID in a else None
    mem = SkMem._make(fixed(buf, a[PACKET_DIAG_MEMINFO], SKMEM, "PACKET_DIAG_MEMINFO")) \
        if PACKET_DIAG_MEMINFO in a else None
    netid = "p_raw" if stype == socket.SOCK_RAW else "p_dgr"
    proto = num  # packet_diag_fill() already gives it in host order (ntohs(po->num))
    rq, wq = (None, None) if mem is None else (mem.rmem_alloc, 0)
    return SocketRecord(netid, "packet", "UNCONN", rq, wq, str(ifindex) if ifindex else "*",
                        None, "*", None, inode, uid, ifindex, None, f"0x{proto:04x}", cookie,
                        memory=mem)


def decode_netlink(buf: memoryview, start: int, end: int) -> SocketRecord:
    """One ``netlink_diag_msg``. Raises Malformed.

    Recv-Q and Send-Q are the memory the socket's queues hold
    (``SK_MEMINFO_RMEM_ALLOC``, ``WMEM_ALLOC``), as ss prints them; both None
    without NETLINK_DIAG_MEMINFO."""
    (_family, _stype, protocol, _state, portid, _dst_portid, _dst_group, inode,
     cookie) = _header(buf, start, end, NETLINK_DIAG_MSG, "netlink_diag_msg")
    a = attrs(buf, start + NETLINK_DIAG_MSG.size, end)
    mem = SkMem._make(fixed(buf, a[NETLINK_DIAG_MEMINFO], SKMEM, "NETLINK_DIAG_MEMINFO")) \
        if NETLINK_DIAG_MEMINFO in a else None
    name = NETLINK_PROTOCOLS.get(protocol, str(protocol))
    # portid is signed in ss's output (kernel-bound sockets have negative ids)
    port = portid - (1 << 32) if portid >= 1 << 31 else portid
    rq, wq = (None, None) if mem is None else (mem.rmem_alloc, mem.wmem_alloc)
    return SocketRecord("nl", "netlink", "UNCONN", rq, wq, name, port, "*", None, inode,
                        None, 0, None, name, cookie, memory=mem)


def state_mask(states: Iterable[int]) -> int:
    mask = 0
    for s in states:
        mask |= 1 << s
    return mask
