"""socklab's own netlink codec and socket.

Layouts are declared as ``struct.Struct`` tables next to the C structs they
mirror (``<linux/netlink.h>``, ``<linux/rtnetlink.h>``, ``<linux/*_diag.h>``);
decoding is ``unpack_from`` over a ``memoryview`` of the receive buffer, with
no copies of the payload until a field is kept. pyroute2 was measured here at
116 ms to import and 5.0 s for a 60,000-socket sock_diag dump, against 0.16 s
for a struct-based reader (docs/design.md), hence this module.

Rules:

1. Messages and attributes are 4-byte aligned (``NLMSG_ALIGN``, ``RTA_ALIGN``).
2. A dump ends with ``NLMSG_DONE``; ``NLMSG_ERROR`` with a non-zero code, or a
   ``NLMSG_DONE`` carrying a negative errno (a dump that could not start, such
   as a sock_diag protocol the kernel was built without), is raised as
   ``OSError`` (the caller, who knows the operation, translates it).
3. What cannot be read is :class:`~socklab.errors.Malformed`, naming the offset:
   a message whose length runs past its chunk or is shorter than a header (the
   messages after it cannot be found: the dump stops there), an attribute that
   runs past its message, a fixed-size payload too short. A per-message decoder
   raises it for its one message; a chunk decoder given ``on_malformed`` hands
   it over and goes on with the next message (framing errors still raise).
4. Pure functions (``message``, ``attr``, ``messages``, ``attrs``) never touch
   the kernel; :class:`NetlinkSocket` is the only I/O here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from socklab.errors import Malformed
from socklab.kernel import sock as ksock

__all__ = [
    "NLMSG_DONE",
    "NLMSG_ERROR",
    "NLM_F_ACK",
    "NLM_F_CREATE",
    "NLM_F_DUMP",
    "NLM_F_EXCL",
    "NLM_F_REPLACE",
    "NLM_F_REQUEST",
    "NetlinkAckError",
    "NetlinkSocket",
    "ack_error",
    "attr",
    "attrs",
    "fixed",
    "message",
    "messages",
]

# <linux/netlink.h>
NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
NETLINK_XFRM = 6
NETLINK_NETFILTER = 12

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
# modifiers of a NEW request (same bits as ROOT/MATCH/ATOMIC, read per message kind)
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
# flags of an NLMSG_ERROR reply: the request was cut to its header, TLVs follow
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
# extended ack attributes (enum nlmsgerr_attrs)
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
SOL_NETLINK = 270
EBADMSG = 74  # errno.EBADMSG on Linux: a reply that does not parse

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NLATTR = struct.Struct("=HH")  # len, type
NLMSGERR = struct.Struct("=i")  # error (negative errno), then the request header
NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED and NLA_F_NET_BYTEORDER
MAX_ERRNO = 4095  # <linux/err.h>

T = TypeVar("T")

# what a chunk decoder does with a message it cannot read (None: raise it)
OnMalformed = Callable[[Malformed], None] | None

NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12


def align(n: int) -> int:
    return (n + 3) & ~3


def message(msg_type: int, flags: int, payload: bytes, seq: int = 1, pid: int = 0) -> bytes:
    """One netlink message: header plus payload, padded."""
    length = NLMSGHDR.size + len(payload)
    pad = b"\0" * (align(length) - length)
    return NLMSGHDR.pack(length, msg_type, flags, seq, pid) + payload + pad


def attr(attr_type: int, payload: bytes) -> bytes:
    """One netlink attribute (``rtattr``/``nlattr``), padded."""
    length = NLATTR.size + len(payload)
    return NLATTR.pack(length, attr_type) + payload + b"\0" * (align(length) - length)


def messages(buf: memoryview | bytes,
             end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """``(type, flags, payload_start, payload_end)`` of each message in ``buf[:end]``.

    Raises Malformed for a length shorter than the header or past ``end``."""
    end = len(buf) if end is None else end
    off = 0
    unpack = NLMSGHDR.unpack_from
    while off + 16 <= end:
        length, mtype, flags, _seq, _pid = unpack(buf, off)
        if length < 16 or off + length > end:
            raise bad_length(off, length, end)
        yield mtype, flags, off + 16, off + length
        off += (length + 3) & ~3


def bad_length(off: int, length: int, end: int) -> Malformed:
    """The error for a message whose length cannot be followed to the next one."""
    if length < 16:
        why = f"length {length} is shorter than its header (16)"
    else:
        why = f"length {length} runs past the end of the chunk ({end - off} bytes left)"
    return Malformed(f"netlink message at offset {off}: {why}")


def attrs(buf: memoryview | bytes, start: int, end: int) -> dict[int, tuple[int, int]]:
    """Attribute type -> ``(payload_start, payload_end)`` for ``buf[start:end]``.

    Raises Malformed for an attribute that runs past ``end``."""
    out: dict[int, tuple[int, int]] = {}
    unpack = NLATTR.unpack_from
    off = start
    while off + 4 <= end:
        length, atype = unpack(buf, off)
        if length < 4:
            break
        if off + length > end:
            raise bad_attr(off, atype, length, end)
        out[atype & NLA_TYPE_MASK] = (off + 4, off + length)
        off += (length + 3) & ~3
    return out


def bad_attr(off: int, atype: int, length: int, end: int) -> Malformed:
    return Malformed(f"netlink attribute {atype & NLA_TYPE_MASK} at offset {off}: length "
                     f"{length} runs past the end of its message ({end - off} bytes left)")


def fixed(buf: memoryview | bytes, span: tuple[int, int], layout: struct.Struct,
          what: str) -> tuple[int, ...]:
    """The fields of a fixed-size attribute payload (``span`` from :func:`attrs`).

    Raises Malformed when the payload is shorter than ``layout``."""
    start, end = span
    if end - start < layout.size:
        raise Malformed(f"{what} at offset {start - 4}: {end - start} bytes, "
                        f"expected {layout.size}")
    return layout.unpack_from(buf, start)


def error_code(buf: memoryview | bytes, start: int) -> int:
    """The (positive) errno of an NLMSG_ERROR payload; 0 is an ACK. Raises Malformed
    when ``buf`` ends before the code, or the code is no errno (1 to 4095,
    ``MAX_ERRNO``)."""
    if len(buf) - start < 4:
        raise Malformed(f"netlink error reply at offset {start - 16}: too short for its "
                        "error code")
    code = -int(NLMSGERR.unpack_from(buf, start)[0])
    if not 0 <= code <= MAX_ERRNO:
        raise Malformed(f"netlink error reply at offset {start - 16}: {-code} is not a "
                        "negative errno")
    return code


class NetlinkAckError(OSError):
    """The kernel's NLMSG_ERROR answer to a request: the errno, and the extended ack
    text (``NLMSGERR_ATTR_MSG``) when the kernel gave one, in :attr:`ext_msg`."""

    def __init__(self, code: int, ext_msg: str | None = None) -> None:
        super().__init__(code, os.strerror(code))
        self.ext_msg = ext_msg


def ack_error(buf: memoryview | bytes, flags: int, start: int,
              end: int) -> tuple[int, str | None]:
    """``(errno, extended ack message)`` of an NLMSG_ERROR payload (errno 0 is an ACK).

    Layout (``struct nlmsgerr`` then TLVs, netlink(7) and ``<linux/netlink.h>``):
    the negative errno, the request's own header, the request's payload unless
    the reply has NLM_F_CAPPED, then, when the reply has NLM_F_ACK_TLVS, the
    ``NLMSGERR_ATTR_*`` attributes. Only bounds inside ``start:end`` are read.
    """
    if end - start < NLMSGERR.size:
        raise NetlinkAckError(EBADMSG, "truncated netlink error message")
    code = error_code(buf, start)
    if not flags & NLM_F_ACK_TLVS:
        return code, None
    off = start + NLMSGERR.size
    if off + NLMSGHDR.size > end:
        return code, None
    inner_len = int(NLMSGHDR.unpack_from(buf, off)[0])
    off += NLMSGHDR.size if flags & NLM_F_CAPPED else align(max(inner_len, NLMSGHDR.size))
    found = attrs(buf, off, end) if off <= end else {}
    if NLMSGERR_ATTR_MSG not in found:
        return code, None
    lo, hi = found[NLMSGERR_ATTR_MSG]
    text = bytes(buf[lo:min(hi, end)]).split(b"\0", 1)[0].decode(errors="replace").strip()
    return code, text or None


def control(buf: memoryview | bytes, mtype: int, start: int, end: int) -> bool:
    """Handle a control message of a dump: True at the end (``NLMSG_DONE``).

    Raises OSError for an error reply, or for a DONE that carries one (a dump
    that could not start, such as a sock_diag protocol missing from the kernel:
    netlink_dump_done() puts the callback's negative errno in the payload);
    Malformed for an error reply too short to hold its code, or whose code is
    no errno.
    """
    if mtype == NLMSG_DONE:
        if end - start >= 4 and NLMSGERR.unpack_from(buf, start)[0] < 0:
            code = error_code(buf, start)
            raise OSError(code, os.strerror(code))
        return True
    if mtype == NLMSG_ERROR:
        if end - start < 4:
            raise Malformed(f"netlink error reply at offset {start - 16}: {end - start} "
                            "bytes, too short for its error code")
        code = error_code(buf, start)
        if code:
            raise OSError(code, os.strerror(code))
    return False


def chunk_decoder(decode: Callable[[memoryview, int, int], T], wanted: int,
                  on_malformed: OnMalformed = None
                  ) -> Callable[[memoryview, int], tuple[list[T], bool]]:
    """A chunk decoder (for :meth:`NetlinkSocket.dump_chunks`) from a per-message one,
    applied to the messages of type ``wanted``.

    A message ``decode`` raises Malformed for is handed to ``on_malformed`` and
    left out (raised when it is None); a framing error is raised (rule 3)."""

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[T], bool]:
        out = []
        for mtype, _flags, start, end in messages(buf, n):
            if mtype == wanted:
                try:
                    out.append(decode(buf, start, end))
                except Malformed as exc:
                    if on_malformed is None:
                        raise
                    on_malformed(exc)
            elif control(buf, mtype, start, end):
                return out, True
        return out, False

    return decode_chunk


# requests a buffer of NetlinkSocket.pipeline: 64 answers at most (about 1 KiB each as the
# kernel counts them, with NETLINK_CAP_ACK) fit the default 208 KiB receive buffer
PIPELINE_WINDOW = 64
PIPELINE_BYTES = 32768  # well under the default send buffer (netlink refuses above it)

# A chunk this big says the dump is big (the kernel fills up to ~32 KiB a chunk;
# a small dump comes as a short chunk, then the DONE alone).
PREFETCH_AFTER = 16384
# chunks per recvmmsg in the reader thread, and receivers going round (8 and 3: measured
# best of 4/4, 8/3 and 16/3 for 60,000 sockets)
PREFETCH_BATCH = 8
PREFETCH_RECEIVERS = 3


class _Receiver(Protocol):
    def receive(self) -> list[int]: ...
    def slot(self, i: int) -> memoryview: ...


class _OneByOne:
    """A receiver of one datagram per call, where there is no recvmmsg."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        self._recv_into = sock.recv_into
        self._view = memoryview(bytearray(size))

    def receive(self) -> list[int]:
        return [self._recv_into(self._view)]

    def slot(self, i: int) -> memoryview:
        return self._view


def _receivers(sock: socket.socket, size: int) -> list[_Receiver]:
    try:
        from socklab.kernel.mmsg import BatchReceiver

        return [BatchReceiver(sock, size, PREFETCH_BATCH) for _ in range(PREFETCH_RECEIVERS)]
    except OSError:  # no recvmmsg in this C library
        return [_OneByOne(sock, size) for _ in range(4)]


class NetlinkSocket:
    """A netlink socket for request/dump exchanges with the kernel.

    Created through the traced factory, so ``--trace`` shows it too.
    """

    BUFSIZE = 1 << 16

    def __init__(self, protocol: int) -> None:
        self.sock = ksock.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                 protocol)
        self.sock.bind((0, 0))
        self._seq = 0
        self._buf = bytearray(self.BUFSIZE)
        self._view = memoryview(self._buf)

    def close(self) -> None:
        self._view.release()
        self.sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def join(self, group: int) -> None:
        """Receive multicast group ``group`` too (``NETLINK_ADD_MEMBERSHIP``, netlink(7))."""
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)

    def receive(self, timeout: float) -> bytes | None:
        """One datagram (a copy), or None when none comes within ``timeout`` seconds."""
        import select

        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        if not poller.poll(max(0, int(timeout * 1000))):
            return None
        n = self.sock.recv_into(self._view)
        return bytes(self._view[:n])

    def request(self, msg_type: int, payload: bytes,
                flags: int = NLM_F_REQUEST | NLM_F_DUMP) -> int:
        self._seq += 1
        self.sock.send(message(msg_type, flags, payload, self._seq))
        return self._seq

    def enable_strict_check(self) -> bool:
        """Ask for strict checking of dump requests (``NETLINK_GET_STRICT_CHK``, Linux
        >= 4.20): the kernel then filters route dumps by the header's table, protocol,
        type and device. False where the kernel refuses the option (it then ignores
        those fields: filter the replies too)."""
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        except OSError:
            return False
        return True

    def enable_ext_ack(self) -> None:
        """Ask for extended acks (``NETLINK_EXT_ACK``): an error then carries the
        kernel's own sentence. Older kernels refuse the option; acks stay plain."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)

    def transact(self, msg_type: int, payload: bytes, flags: int = 0) -> None:
        """Send one change request with NLM_F_ACK and wait for its ack.

        Raises :class:`NetlinkAckError` (an OSError) with the kernel's errno and
        extended ack text when it refuses. Replies to other sequence numbers
        (none are expected on this socket) are skipped.
        """
        seq = self.request(msg_type, payload, NLM_F_REQUEST | NLM_F_ACK | flags)
        view = self._view
        for _ in range(1000):  # bounded: the ack comes in the first datagram or so
            n = self.sock.recv_into(view)
            if n == 0:
                break
            off = 0
            while off + NLMSGHDR.size <= n:
                length, mtype, mflags, mseq, _pid = NLMSGHDR.unpack_from(view, off)
                if length < NLMSGHDR.size or off + length > n:
                    raise NetlinkAckError(EBADMSG, f"truncated netlink reply at offset {off}")
                if mtype == NLMSG_ERROR and mseq == seq:
                    code, text = ack_error(view, mflags, off + NLMSGHDR.size, off + length)
                    if code:
                        raise NetlinkAckError(code, text)
                    return
                off += align(length)
        raise NetlinkAckError(EBADMSG, "no acknowledgement from the kernel")

    def pipeline(self, requests: Sequence[tuple[int, int, bytes]], *, keep_going: bool = True,
                 window: int = PIPELINE_WINDOW
                 ) -> tuple[int, list[tuple[int, int, str | None]]]:
        """Send change requests ``(type, flags, payload)`` many to a ``send``; return how
        many were sent and the refusals, ``(position in requests, errno, extended ack
        text)``. Without ``keep_going``, no buffer is sent after one with a refusal.

        Rules (netlink(7), the kernel's netlink_rcv_skb()):

        1. Up to ``window`` requests (and PIPELINE_BYTES) go in one buffer. The
           kernel handles a buffer's requests in order inside the ``send``, and
           goes on after one it refuses: a buffer is applied whole but for its
           refusals.
        2. Only the last request of a buffer asks for an ack (NLM_F_ACK); a
           refusal is answered whatever the flags, with its own sequence number,
           which gives its position. So a buffer costs one ``send`` and the
           receives of its refusals and its final ack, not two calls a request.
        3. The window bounds what waits in the receive buffer: at most one
           answer a request, capped (NETLINK_CAP_ACK) to the request's header
           and the extended ack. An overrun (ENOBUFS: answers lost) raises
           NetlinkAckError(ENOBUFS), since the refusals are no longer known.
        """
        refused: list[tuple[int, int, str | None]] = []
        pack = NLMSGHDR.pack
        start = 0
        while start < len(requests):
            end = start
            size = 0
            while end < len(requests) and end - start < window and size < PIPELINE_BYTES:
                size += NLMSGHDR.size + len(requests[end][2]) + 3
                end += 1
            seq = self._seq
            parts = [pack(NLMSGHDR.size + len(payload), msg_type, flags | NLM_F_REQUEST,
                          seq + i, 0) + payload + b"\0" * (-len(payload) & 3)
                     for i, (msg_type, flags, payload) in enumerate(requests[start:end - 1], 1)]
            msg_type, flags, payload = requests[end - 1]
            parts.append(pack(NLMSGHDR.size + len(payload), msg_type,
                              flags | NLM_F_REQUEST | NLM_F_ACK, seq + end - start, 0)
                         + payload + b"\0" * (-len(payload) & 3))
            base = self._seq + 1
            self._seq += end - start
            self.sock.send(b"".join(parts))
            final = self._seq
            if not self._answers(base, final, start, refused):
                raise NetlinkAckError(EBADMSG, "no acknowledgement from the kernel")
            start = end
            if refused and not keep_going:
                break
        return start, refused

    def _answers(self, base: int, final: int, start: int,
                 refused: list[tuple[int, int, str | None]]) -> bool:
        """Read the answers to the requests ``base..final`` up to the final ack, each
        refusal added to ``refused`` at ``start`` plus its offset; False if the
        final ack never came (bounded: one answer a request at most)."""
        view = self._view
        for _ in range(final - base + 2):
            n = self.sock.recv_into(view)
            for mtype, mflags, lo, hi in messages(view, n):
                mseq = int(NLMSGHDR.unpack_from(view, lo - NLMSGHDR.size)[3])
                if mtype != NLMSG_ERROR or not base <= mseq <= final:
                    continue
                code, text = ack_error(view, mflags, lo, hi)
                if code:
                    refused.append((start + mseq - base, code, text))
                if mseq == final:
                    return True
        return False

    def cap_acks(self) -> None:
        """Answers carry the request's header only, not the whole request
        (``NETLINK_CAP_ACK``, Linux >= 4.3): smaller answers to keep."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)

    def dump_chunks(self, msg_type: int, payload: bytes,
                    decode_chunk: Callable[[memoryview, int], tuple[list[T], bool]],
                    flags: int = NLM_F_REQUEST | NLM_F_DUMP,
                    prefetch: bool = False) -> Iterator[T]:
        """Send a dump request and decode each received chunk with ``decode_chunk``.

        ``decode_chunk(buffer, nbytes)`` returns the items of that chunk and
        whether it held the final ``NLMSG_DONE`` (see :func:`control`). This is
        the fast path: one Python call per chunk of a few hundred messages.

        ``prefetch``: after a full first chunk, a second thread receives the next
        chunks while this one decodes (for big dumps; the items must not keep
        views of the buffer). A small dump starts no thread.
        """
        self.request(msg_type, payload, flags)
        view = self._view
        recv_into = self.sock.recv_into
        while True:
            n = recv_into(view)
            if n == 0:
                return
            items, done = decode_chunk(view, n)
            yield from items
            if done:
                return
            if prefetch and n >= PREFETCH_AFTER:  # a full chunk: a big dump, worth a thread
                yield from self._prefetched(decode_chunk)
                return

    def _prefetched(self, decode_chunk: Callable[[memoryview, int], tuple[list[T], bool]]
                    ) -> Iterator[T]:
        """The kernel builds a dump's chunks inside the receive, where Python lets go
        of the GIL: a reader thread keeps receiving while this thread decodes, so
        on two cores the kernel's time hides behind decoding (60,000 sockets:
        about 60 ms of receives). The reader takes PREFETCH_BATCH chunks per
        ``recvmmsg`` (``kernel/mmsg.py``): a GIL hand-off per batch, not per
        chunk, which cost it a third of its time (one ``recv`` per chunk where
        the C library has no recvmmsg). Receivers go round between the two
        threads; a pipe wakes the reader when the dump is over."""
        import queue
        import select
        import threading

        free: queue.SimpleQueue[_Receiver | None] = queue.SimpleQueue()
        full: queue.SimpleQueue[tuple[_Receiver, list[int]] | BaseException] = \
            queue.SimpleQueue()
        for receiver in _receivers(self.sock, self.BUFSIZE):
            free.put(receiver)
        wake_r, wake_w = os.pipe()
        poller = select.poll()  # not select(): descriptors above 1023 are common here
        poller.register(self.sock.fileno(), select.POLLIN)
        poller.register(wake_r, select.POLLIN)

        def reader() -> None:
            try:
                while (receiver := free.get()) is not None:
                    if any(ready == wake_r for ready, _ev in poller.poll()):
                        return
                    full.put((receiver, receiver.receive()))
            except BaseException as exc:  # handed to the decoding thread
                full.put(exc)

        thread = threading.Thread(target=reader, name="netlink-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                got = full.get()
                if isinstance(got, BaseException):
                    raise got
                receiver, lengths = got
                items: list[T] = []
                done = False
                for i, n in enumerate(lengths):
                    if n == 0:
                        return
                    chunk, done = decode_chunk(receiver.slot(i), n)
                    items += chunk
                    if done:
                        break
                free.put(receiver)
                yield from items
                if done:
                    return
        finally:
            free.put(None)
            os.write(wake_w, b"x")
            thread.join()
            os.close(wake_r)
            os.close(wake_w)

    def dump(self, msg_type: int, payload: bytes,
             flags: int = NLM_F_REQUEST | NLM_F_DUMP) -> Iterator[tuple[memoryview, int, int, int]]:
        """Send a request; yield ``(buffer, type, start, end)`` for each reply message.

        Without NLM_F_DUMP the reply is one message (or an error) and no DONE follows.
        The buffer is reused between receives: decode before asking for the next one.
        """
        Message = tuple[memoryview, int, int, int]

        def decode_chunk(buf: memoryview, n: int) -> tuple[list[Message], bool]:
            out: list[Message] = []
            for mtype, _flags, start, end in messages(buf, n):
                if mtype in (NLMSG_DONE, NLMSG_ERROR):
                    if control(buf, mtype, start, end):
                        return out, True
                    continue
                out.append((buf, mtype, start, end))
            return out, not flags & NLM_F_DUMP

        return self.dump_chunks(msg_type, payload, decode_chunk, flags)
