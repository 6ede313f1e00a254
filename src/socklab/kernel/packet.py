"""PF_PACKET capture with a TPACKET_V3 receive ring (packet(7), the kernel's
Documentation/networking/packet_mmap.rst).

The kernel writes frames into a ring of blocks shared with this process
(``PACKET_RX_RING``, mapped with mmap): no system call per packet, and a block
is handed over when it is full or its timeout (``tp_retire_blk_tov``) expires.
The reader walks the blocks the kernel marked ``TP_STATUS_USER`` and gives each
back by writing ``TP_STATUS_KERNEL``. A frame that finds no free block is
counted as a drop, read with ``PACKET_STATISTICS`` (the counters reset on read,
so they are summed here).

As libpcap does: the socket is opened for no protocol, the filter attached and
the ring set up before it is bound to ``ETH_P_ALL``, so that no unfiltered
frame slips in; an outgoing frame on the loopback device is skipped (it comes
back as an incoming one); ``any`` uses a SOCK_DGRAM socket (the kernel strips
the link header, so the filter sees the network header at offset 0) and each
frame's ``sockaddr_ll`` gives what a Linux cooked header needs.
"""

from __future__ import annotations

import errno
import mmap
import select
import socket
import struct
from collections.abc import Iterator
from typing import NamedTuple

from socklab.errors import BadInput, NetworkError, NotFound, from_oserror
from socklab.kernel.bpf import attach_filter

__all__ = ["Frame", "PacketRing", "Stats", "interface_name"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION = 5, 6, 10
TPACKET_V3 = 2
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
PACKET_OUTGOING = 4
_REQ3 = struct.Struct("=7I")  # block_size, block_nr, frame_size, frame_nr, tov, priv, feature
_BLOCK = struct.Struct("=III")  # block_status, num_pkts, offset_to_first_pkt (at offset 8)
_HDR3 = struct.Struct("=IIIIIIHH")  # next_offset, sec, nsec, snaplen, len, status, mac, net
_LL = struct.Struct("=HHiHBB8s")  # sockaddr_ll: family, protocol (big-endian), ifindex, ...
_LL_AT = 48  # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
_FRAME = struct.Struct("=IIIII4xH")  # the tpacket3_hdr fields a pcap record needs
_STATUS = struct.Struct("=I")
_SEQ = struct.Struct("=Q")  # a block's seq_num (offset 24: tpacket_hdr_v1, after 4 u32)
BLOCK_SIZE = 1 << 18  # libpcap 1.10's block (and "frame") for every snapshot length
_STATS3 = struct.Struct("=III")  # tp_packets, tp_drops, tp_freeze_q_cnt


def interface_name(index: int) -> str:
    """The name of interface ``index`` now (``if_indextoname``), or the number."""
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


_INSN = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k
_LD_W_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_SKF_AD_PKTTYPE, _SKF_AD_IFINDEX = 0xFFFFF000 + 4, 0xFFFFF000 + 8


def _skip_loopback_outgoing(program: bytes | None, loopback: int, snaplen: int,
                            every_interface: bool) -> bytes:
    """``program`` behind a test that drops outgoing frames of the loopback device.

    Each packet sent on ``lo`` reaches a packet socket twice, going out and coming
    in; libpcap drops the first copy when it reads it, after it took room in the
    ring. Dropping it in the kernel halves what a busy loopback writes to the ring
    (the counters then count each packet once). ``SKF_AD_*`` are the kernel's
    ancillary loads (linux/filter.h)."""
    rest = program if program is not None else _INSN.pack(_RET_K, 0, 0, snaplen)
    head = [(_LD_W_ABS, 0, 0, _SKF_AD_PKTTYPE), (_JEQ_K, 0, 1, PACKET_OUTGOING),
            (_RET_K, 0, 0, 0)]
    if every_interface:  # only on lo: the outgoing frames of other devices are real
        head = [(_LD_W_ABS, 0, 0, _SKF_AD_IFINDEX), (_JEQ_K, 0, 3, loopback), *head]
    return b"".join(_INSN.pack(*i) for i in head) + rest


class Frame(NamedTuple):
    """One captured frame and what the kernel said of it (``sockaddr_ll``)."""

    timestamp_ns: int
    data: bytes | memoryview  # a view of the ring in PacketRing.batches()
    length: int  # on the wire
    ifindex: int
    packet_type: int  # PACKET_HOST ... PACKET_OUTGOING
    arphrd: int
    protocol: int  # ethertype
    address: bytes  # link-layer source address


class Stats:
    """The kernel's counters (``struct tpacket_stats_v3``): ``received`` counts every
    frame that passed the filter, ``dropped`` those that found the ring full."""

    __slots__ = ("dropped", "received")

    def __init__(self, received: int = 0, dropped: int = 0) -> None:
        self.received, self.dropped = received, dropped

    def __repr__(self) -> str:
        return f"Stats(received={self.received}, dropped={self.dropped})"


class PacketRing:
    """A packet socket on ``interface`` (None: every interface) with a receive ring.

    ``program`` is a classic BPF program (bytes of ``struct sock_filter``) attached
    before any frame is received. Raises MissingPrivilege (CAP_NET_RAW), NotFound
    for an unknown interface, NetworkError for any other refusal.
    """

    def __init__(self, interface: str | None, program: bytes | None = None,
                 buffer_size: int = 2 << 20, snaplen: int = 262144,
                 block_timeout_ms: int = 100) -> None:
        self.cooked = interface is None
        self.snaplen = snaplen
        ifindex = 0
        if interface is not None:
            try:
                ifindex = socket.if_nametoindex(interface)
            except OSError:
                raise NotFound(f"no interface {interface!r}") from None
        try:
            self.loopback = socket.if_nametoindex("lo")
        except OSError:
            self.loopback = -1
        if interface is None or ifindex == self.loopback:
            program = _skip_loopback_outgoing(program, self.loopback, snaplen,
                                              every_interface=interface is None)
        kind = socket.SOCK_DGRAM if self.cooked else socket.SOCK_RAW
        try:
            self.sock = socket.socket(socket.AF_PACKET, kind,
                                      socket.htons(ETH_P_ALL) if self.cooked else 0)
        except OSError as exc:
            raise from_oserror(exc, "open a packet socket", "CAP_NET_RAW") from exc
        try:
            if program is not None:
                attach_filter(self.sock, program)
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            self._setup_ring(buffer_size, block_timeout_ms)
            if interface is not None:
                self.sock.bind((interface, ETH_P_ALL))
        except OSError as exc:
            self.close()
            if exc.errno == errno.EINVAL and program is not None:
                raise BadInput(f"the kernel refused the filter program: {exc.strerror}") \
                    from exc
            raise from_oserror(exc, f"capture on {interface or 'any'}", "CAP_NET_RAW") \
                from exc
        self.ifindex = ifindex
        self.stats = Stats()
        self._block = 0

    def _setup_ring(self, buffer_size: int, timeout_ms: int) -> None:
        """The ring libpcap 1.10 makes for the same ``-B``: blocks of 256 KiB, as many
        as the buffer size rounded up (at least two: with one, every frame that
        arrives while the reader holds it is dropped). A frame longer than a block
        can hold is cut by the kernel to fit, as tcpdump's are (packet_mmap.rst)."""
        block = max(mmap.PAGESIZE, BLOCK_SIZE)
        self.block_size = block
        self.block_nr = max(2, -(-buffer_size // block))
        frame = 2048  # V3 packs frames by their size; this only checks the request
        req = _REQ3.pack(block, self.block_nr, frame, block * self.block_nr // frame,
                         timeout_ms, 0, 0)
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self.ring = mmap.mmap(self.sock.fileno(), block * self.block_nr, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self.view = memoryview(self.ring)
        self._poller = select.poll()
        self._poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)

    def _wait(self, timeout: float | None) -> bool:
        """True once the next block is ready, waiting up to ``timeout`` seconds."""
        if self.ready():
            return True
        try:
            readable = self._poller.poll(None if timeout is None else int(timeout * 1000))
        except InterruptedError:  # a signal: let the caller look at its flags
            return False
        if self.ready():
            return True
        if readable:
            # The kernel says a block is ours, but not the one we expect: after the ring
            # froze (every block full) it can hand the blocks over in another order
            # (seen: the next block still the kernel's, the three after it ours). Go on
            # from the oldest block it handed over, by its sequence number; without
            # this, poll answers at once for ever and the reader spins.
            oldest = oldest_ready(self.view, self.block_size, self.block_nr)
            if oldest is not None:
                self._block = oldest
        return self.ready()

    def _release(self) -> None:
        """Give the current block back to the kernel and move to the next one."""
        _STATUS.pack_into(self.view, self._block * self.block_size + 8, TP_STATUS_KERNEL)
        self._block = (self._block + 1) % self.block_nr

    def frames(self, timeout: float | None = None) -> Iterator[Frame]:
        """The frames of the blocks ready now (copied out of the ring), waiting up to
        ``timeout`` seconds for one (None: until one is ready)."""
        for batch in self.batches(timeout):
            for f in batch:
                yield Frame(f.timestamp_ns, bytes(f.data), f.length, f.ifindex,
                            f.packet_type, f.arphrd, f.protocol, f.address)

    def batches(self, timeout: float | None = None) -> Iterator[list[Frame]]:
        """The frames of each block ready now, one list per block, their ``data`` a
        view of the ring: valid until the generator is resumed, when the block goes
        back to the kernel (a writer uses :meth:`pcap_blocks` instead: no object
        per frame). Waits up to ``timeout`` seconds for a first block (None: until
        one is ready)."""
        if not self._wait(timeout):
            return
        view = self.view
        while self.ready():
            base = self._block * self.block_size
            _, count, first = _BLOCK.unpack_from(view, base + 8)
            at = base + first
            frames = []
            for _ in range(min(count, self.block_size // 48)):
                nxt, sec, nsec, snaplen, length, _, mac, _net = _HDR3.unpack_from(view, at)
                _, proto, ifindex, hatype, pkttype, halen, addr = _LL.unpack_from(
                    view, at + _LL_AT)
                if not (pkttype == PACKET_OUTGOING and ifindex == self.loopback):
                    end = min(at + mac + snaplen, base + self.block_size)
                    frames.append(Frame(sec * 1_000_000_000 + nsec, view[at + mac:end],
                                        length, ifindex, pkttype, hatype,
                                        socket.ntohs(proto), addr[:min(halen, 8)]))
                if nxt == 0 or at + nxt >= base + self.block_size:
                    break
                at += nxt
            try:
                yield frames
            finally:
                for f in frames:  # no view of the block outlives it
                    if isinstance(f.data, memoryview):
                        f.data.release()
                self._release()

    def pcap_blocks(self, timeout: float | None, record: struct.Struct,
                    cooked: struct.Struct | None = None) -> Iterator[list[memoryview]]:
        """The frames of each block ready now as pcap records, one view of the ring
        each, for writev: valid until the generator is resumed, when the block goes
        back to the kernel. Waits up to ``timeout`` seconds for a first block.

        A record's header is written in the ring itself, in the bytes just before
        its frame (tpacket3_hdr and sockaddr_ll, read first: the block is this
        process's until it is given back), so a record is one iovec and no bytes
        object is made per packet. ``record`` packs (seconds, microseconds, bytes
        kept, length on the wire), pcap-savefile(5)'s record header. On the
        SOCK_DGRAM socket of ``any``, ``cooked`` packs (packet type, ARPHRD type,
        address length, address, ethertype), the Linux cooked header, written
        between the two; the record's lengths count it."""
        if not self._wait(timeout):
            return
        view, size = self.view, self.block_size
        extra = cooked.size if cooked is not None else 0
        room = record.size + extra
        frame, pack = _FRAME.unpack_from, record.pack_into
        while self.ready():
            block = view[self._block * size:(self._block + 1) * size]
            _, count, at = _BLOCK.unpack_from(block, 8)
            parts: list[memoryview] = []
            for _ in range(min(count, size // 48)):
                nxt, sec, nsec, kept, length, mac = frame(block, at)
                start = at + mac
                if start + kept > size or mac < room:  # never from the kernel, which
                    break  # leaves 68 bytes or more before mac, and frames in the block
                if cooked is None or self._cooked(block, at, start, cooked):
                    pack(block, start - room, sec, nsec // 1000, kept + extra, length + extra)
                    parts.append(block[start - room:start + kept])
                if nxt == 0 or at + nxt >= size:
                    break
                at += nxt
            try:
                yield parts
            finally:
                for part in parts:  # no view of the block outlives it
                    part.release()
                block.release()
                self._release()

    def _cooked(self, block: memoryview, at: int, start: int, cooked: struct.Struct) -> bool:
        """Write the Linux cooked header of the frame at ``at`` just before its data
        at ``start``, from its sockaddr_ll; False for an outgoing copy on lo (the
        kernel filter drops them already)."""
        _, proto, ifindex, hatype, pkttype, halen, addr = _LL.unpack_from(block, at + _LL_AT)
        if pkttype == PACKET_OUTGOING and ifindex == self.loopback:
            return False
        halen = min(halen, 8)
        cooked.pack_into(block, start - cooked.size, pkttype, hatype, halen,
                         addr[:halen].ljust(8, b"\0"), socket.ntohs(proto))
        return True

    def ready(self) -> bool:
        """True when the kernel has handed over the next block."""
        status: int = _STATUS.unpack_from(self.view, self._block * self.block_size + 8)[0]
        return bool(status & TP_STATUS_USER)

    def read_stats(self) -> Stats:
        """Add the kernel's counters since the last read to :attr:`stats`."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS3.size)
        except OSError as exc:
            raise NetworkError("read the packet socket's statistics", exc.errno) from exc
        packets, drops, _ = _STATS3.unpack(raw)
        self.stats.received += packets  # the kernel's tp_packets counts the drops too
        self.stats.dropped += drops
        return self.stats

    def close(self) -> None:
        view = getattr(self, "view", None)
        if view is not None:
            view.release()
            self.ring.close()
        self.sock.close()


def oldest_ready(ring: memoryview | bytes, block_size: int, block_nr: int) -> int | None:
    """The index of the block handed to user space with the lowest sequence number
    (tpacket_hdr_v1's seq_num, one more for each block the kernel opens), or None
    when every block is the kernel's."""
    best: tuple[int, int] | None = None
    for index in range(block_nr):
        base = index * block_size
        status, seq = _STATUS.unpack_from(ring, base + 8)[0], _SEQ.unpack_from(ring, base + 24)[0]
        if status & TP_STATUS_USER and (best is None or seq < best[0]):
            best = (seq, index)
    return None if best is None else best[1]
