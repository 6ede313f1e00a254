"""The sniffer: frames from a packet ring or a pcap file, filtered, decoded, written.

``socklab.sniff(...)`` is a :class:`Capture`: iterate it for decoded
:class:`~socklab.capture.decode.Packet` records, or call :meth:`Capture.save`
to write a pcap file without decoding (what ``socklab sniff -w`` does, as
``tcpdump -w`` does not decode either).

Rules:

1. A live capture filters in the kernel (the compiled program is attached to the
   socket before it receives anything); a file read with ``read=`` is filtered by
   the same program run in Python (:func:`socklab.capture.bpf.run`).
2. ``-i any`` captures with a SOCK_DGRAM socket; each frame gets the 16-byte
   Linux cooked header (LINKTYPE_LINUX_SLL) built from its ``sockaddr_ll``, as
   libpcap does.
3. A written file appears under its final name only when complete: records go
   to a hidden temporary file next to it, renamed at the end (also when the
   capture is stopped by ``stop()``, Ctrl-C or SIGTERM); an error removes it.
4. ``stop`` is polled at least every ``poll_interval`` seconds; the counters of
   :attr:`Capture.stats` are read when the capture ends.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, TypeVar

from socklab.capture import pcap
from socklab.capture.pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL
from socklab.errors import BadInput, from_oserror
from socklab.kernel import packet
from socklab.kernel.packet import interface_name  # for the lines of sniff -i any

if TYPE_CHECKING:  # the filter compiler and the decoders load when used: -w needs neither
    from socklab.capture import bpf
    from socklab.capture.decode import Packet

__all__ = ["Capture", "CaptureStats", "interface_name", "sniff"]

_SLL = struct.Struct("!HHH8sH")  # the Linux cooked header: pkttype, hatype, halen, addr, proto
_Block = TypeVar("_Block")


class CaptureStats:
    """tcpdump's three numbers: ``captured`` (given to you), ``received`` (passed the
    kernel's filter, drops included), ``dropped`` (the ring was full). A plain
    class, not a dataclass: ``sniff -w`` then loads no dataclasses (1.7 MiB)."""

    __slots__ = ("captured", "dropped", "received")

    def __init__(self, captured: int = 0, received: int | None = None,
                 dropped: int | None = None) -> None:
        self.captured, self.received, self.dropped = captured, received, dropped

    def __repr__(self) -> str:
        return (f"CaptureStats(captured={self.captured}, received={self.received}, "
                f"dropped={self.dropped})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CaptureStats):
            return NotImplemented
        return (self.captured, self.received, self.dropped) == \
            (other.captured, other.received, other.dropped)


def sniff(interface: str | None = None, count: int | None = None, filter: str = "", *,
          read: str | None = None, snaplen: int = 262144, buffer_size: int = 2 << 20,
          timeout: float | None = None, stop: Callable[[], bool] | None = None) -> Capture:
    """Capture on ``interface`` ("any" or None: every interface), or read the pcap
    file ``read``; keep the packets ``filter`` matches (pcap-filter words, see
    :mod:`socklab.capture.bpf`); stop after ``count`` packets, ``timeout`` seconds
    or when ``stop()`` is true.

    Raises BadInput (filter, arguments), NotFound (interface, file),
    MissingPrivilege (CAP_NET_RAW), Malformed (a file that is not pcap).
    """
    return Capture(interface, count, filter, read=read, snaplen=snaplen,
                   buffer_size=buffer_size, timeout=timeout, stop=stop)


class Capture:
    """A capture in progress; iterate it, or :meth:`save` it. See :func:`sniff`."""

    poll_interval = 0.2

    def __init__(self, interface: str | None, count: int | None, filter: str, *,
                 read: str | None, snaplen: int, buffer_size: int, timeout: float | None,
                 stop: Callable[[], bool] | None) -> None:
        if count is not None and count < 1:
            raise BadInput(f"count {count}: expected a number of packets above 0")
        if not 64 <= snaplen <= pcap.MAX_RECORD:
            raise BadInput(f"snapshot length {snaplen}: expected 64 to {pcap.MAX_RECORD}")
        if buffer_size < 1 << 16:
            raise BadInput(f"buffer size {buffer_size}: expected at least 64 KiB")
        self.count = count
        self.filter = filter
        self.snaplen = snaplen
        self.timeout = timeout
        self._stop = stop or (lambda: False)
        self.stats = CaptureStats()
        self.interface = None if interface in (None, "any") else interface
        self.read = read
        self._ring: packet.PacketRing | None = None
        self._reader: pcap.Reader | None = None
        self._program: bpf.Program | None = None
        if filter.strip():
            from socklab.capture import bpf
        if read is not None:
            if interface is not None:
                raise BadInput("-i and -r: capture live or read a file, not both")
            self._reader = pcap.Reader()
            self._chunks = self._file_chunks(read)
            self._pending: list[pcap.Record] = []
            self._fill_header()
            assert self._reader.header is not None
            self.linktype = self._reader.header.linktype
            if filter.strip():
                self._program = bpf.compile_filter(filter, self.linktype, snaplen)
        else:
            self.linktype = LINKTYPE_ETHERNET if self.interface else LINKTYPE_LINUX_SLL
            program = None
            if filter.strip():
                self._program = bpf.compile_filter(
                    filter, LINKTYPE_ETHERNET if self.interface else bpf.COOKED_SOCKET, snaplen)
                program = self._program.encode()
            self._ring = packet.PacketRing(self.interface, program, buffer_size, snaplen)
        self._names: dict[int, str] = {}

    # -- sources ----------------------------------------------------------------

    @staticmethod
    def _file_chunks(path: str) -> Iterator[bytes]:
        from socklab.kernel import files

        try:
            yield from files.chunks(path)
        except OSError as exc:
            raise from_oserror(exc, f"read {path}") from exc

    def _fill_header(self) -> None:
        assert self._reader is not None
        for chunk in self._chunks:
            self._pending += self._reader.feed(chunk)
            if self._reader.header is not None:
                return
        self._reader.close()  # raises: the file ended inside its header

    def raw(self) -> Iterator[tuple[int, bytes, int]]:
        """``(timestamp_ns, bytes, length on the wire)`` of each packet kept, in the
        capture's link type; ends at ``count``, ``timeout`` or ``stop()``."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        source = self._from_file() if self._reader is not None else self._live(deadline)
        try:
            for item in source:
                yield item
                self.stats.captured += 1
                if self.count is not None and self.stats.captured >= self.count:
                    return
        finally:
            source.close()  # gives its block back, and no view of the ring outlives it
            self.close()

    def _from_file(self) -> Generator[tuple[int, bytes, int], None, None]:
        assert self._reader is not None
        program = self._program.instructions if self._program else None
        if program is not None:
            from socklab.capture.bpf import run

        def kept(records: list[pcap.Record]) -> Iterator[tuple[int, bytes, int]]:
            for r in records:
                if program is None or run(program, r.data):
                    yield round(r.timestamp * 1e9), r.data, r.length

        yield from kept(self._pending)
        for chunk in self._chunks:
            if self._stop():
                return
            yield from kept(self._reader.feed(chunk))
        self._reader.close()

    def _blocks(self, deadline: float | None,
                take: Callable[[float], Iterator[_Block]]) -> Generator[_Block, None, None]:
        """What ``take(wait)`` gives of the ring's blocks, until ``stop()`` or the
        deadline (rule 4)."""
        last = False
        while not last:
            wait = self.poll_interval
            if self._stop():
                # one more look: the kernel hands over a block it is still filling
                # when its timeout expires (the ring's block_timeout_ms, 100 ms)
                last, wait = True, 0.3
            if deadline is not None and not last:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            yield from take(wait)

    def _cooked_header(self, frame: packet.Frame) -> bytes:
        """The Linux cooked header (rule 2) of a frame from a SOCK_DGRAM socket."""
        return _SLL.pack(frame.packet_type, frame.arphrd, len(frame.address),
                         frame.address.ljust(8, b"\0"), frame.protocol)

    def _live(self, deadline: float | None) -> Generator[tuple[int, bytes, int], None, None]:
        ring = self._ring
        assert ring is not None
        cooked = ring.cooked
        for batch in self._blocks(deadline, ring.batches):
            for frame in batch:
                if cooked:
                    yield (frame.timestamp_ns, self._cooked_header(frame) + frame.data,
                           frame.length + _SLL.size)
                else:
                    yield frame.timestamp_ns, bytes(frame.data), frame.length

    def _save_live(self, fd: int) -> None:
        """Write the ring's frames as pcap records straight from its memory (one
        iovec per record, its header written in the ring: PacketRing.pcap_blocks),
        one writev per block, which then goes back to the kernel."""
        from socklab.kernel import files

        ring = self._ring
        assert ring is not None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        cooked = _SLL if ring.cooked else None
        blocks = self._blocks(deadline, lambda wait: ring.pcap_blocks(wait, pcap.RECORD, cooked))
        try:
            for records in blocks:
                if self.count is not None:
                    records = records[:self.count - self.stats.captured]
                files.write_vectors(fd, records)
                self.stats.captured += len(records)
                if self.count is not None and self.stats.captured >= self.count:
                    return
        finally:
            blocks.close()
            self.close()

    # -- consumers --------------------------------------------------------------

    def __iter__(self) -> Iterator[Packet]:
        from socklab.capture.decode import decode_packet

        for ts, data, length in self.raw():
            yield decode_packet(data, self.linktype, ts / 1e9, length)

    def save(self, path: str, on_start: Callable[[], None] | None = None) -> CaptureStats:
        """Write the packets kept to the pcap file ``path`` (rule 3); ``on_start`` is
        called once the file is open. Returns the counters."""
        from socklab.kernel import files

        try:
            fd, tmp = files.open_temp(path)
        except OSError as exc:
            self.close()
            raise from_oserror(exc, f"write {path}") from exc
        try:
            files.usual_mode(fd)  # as tcpdump's file: others may read it unless umask says no
            if on_start is not None:
                on_start()
            files.write_all(fd, pcap.file_header(self.linktype, self.snaplen))
            if self._ring is not None:
                self._save_live(fd)
            else:
                buf = bytearray()
                for ts, data, length in self.raw():
                    buf += pcap.record_header(ts, len(data), length)
                    buf += data
                    if len(buf) >= 1 << 16:
                        files.write_all(fd, buf)
                        buf.clear()
                files.write_all(fd, buf)
            files.commit(fd, tmp, path)
        except OSError as exc:
            files.discard(fd, tmp)
            raise from_oserror(exc, f"write {path}") from exc
        except BaseException:
            files.discard(fd, tmp)
            raise
        return self.stats

    def close(self) -> None:
        """Read the kernel's counters and close the socket (idempotent)."""
        ring, self._ring = self._ring, None
        if ring is not None:
            try:
                stats = ring.read_stats()
                self.stats.received, self.stats.dropped = stats.received, stats.dropped
            finally:
                ring.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

