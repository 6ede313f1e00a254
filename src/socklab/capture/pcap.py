"""The pcap file format (pcap-savefile(5)) as bytes: headers out, records in. Pure.

A file is a 24-byte global header (magic, version 2.4, snapshot length, link
type) and records, each a 16-byte header (seconds, micro- or nanoseconds, bytes
kept, length on the wire) and the bytes kept. The magic number gives both the
byte order and the time resolution: 0xa1b2c3d4 microseconds, 0xa1b23c4d
nanoseconds. socklab writes microseconds in the machine's byte order, as
libpcap does; it reads all four variants.

Rules: a reader is fed chunks of any size and keeps at most one record's bytes
between them; a record longer than :data:`MAX_RECORD` or than the snapshot
length is :class:`Malformed`, as is a file that ends inside a record.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from socklab.errors import Malformed

__all__ = ["LINKTYPE_ETHERNET", "LINKTYPE_LINUX_SLL", "LINKTYPE_LINUX_SLL2", "LINKTYPE_RAW",
           "MAX_RECORD", "RECORD", "Header", "Reader", "Record", "file_header", "record",
           "record_header"]

MAGIC_MICRO, MAGIC_NANO = 0xA1B2C3D4, 0xA1B23C4D
# the link types of a file's header (tcpdump.org/linktypes.html)
LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 1, 101, 113, 276
MAX_RECORD = 262144  # libpcap's MAXIMUM_SNAPLEN
_GLOBAL = struct.Struct("=IHHiIII")
_RECORD = struct.Struct("=IIII")
RECORD = _RECORD  # a record's header: seconds, microseconds, bytes kept, length on the wire


class Header(NamedTuple):
    linktype: int
    snaplen: int
    nanoseconds: bool
    byte_order: str  # "<" or ">"


class Record(NamedTuple):
    timestamp: float
    data: bytes
    length: int  # on the wire


def file_header(linktype: int, snaplen: int = MAX_RECORD) -> bytes:
    """The global header socklab writes (microseconds, native byte order)."""
    return _GLOBAL.pack(MAGIC_MICRO, 2, 4, 0, 0, snaplen, linktype)


def record(timestamp_ns: int, data: bytes | memoryview, length: int) -> bytes:
    """One record: its header and the bytes kept."""
    return record_header(timestamp_ns, len(data), length) + bytes(data)


def record_header(timestamp_ns: int, kept: int, length: int) -> bytes:
    """A record's 16-byte header (the bytes kept follow it)."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    return _RECORD.pack(seconds, nanos // 1000, kept, length)


class Reader:
    """Parse a pcap file fed in chunks: :meth:`feed` returns the records completed."""

    def __init__(self) -> None:
        self.header: Header | None = None
        self._buf = bytearray()
        self._rec: struct.Struct = _RECORD
        self._offset = 0  # in the file, for messages

    def feed(self, chunk: bytes) -> list[Record]:
        self._buf += chunk
        out: list[Record] = []
        if self.header is None:
            if len(self._buf) < _GLOBAL.size:
                return out
            self.header = self._parse_header(bytes(self._buf[:_GLOBAL.size]))
            del self._buf[:_GLOBAL.size]
            self._offset = _GLOBAL.size
        snaplen = max(self.header.snaplen, 1)
        scale = 1e-9 if self.header.nanoseconds else 1e-6
        while len(self._buf) >= 16:
            seconds, frac, kept, length = self._rec.unpack_from(self._buf)
            if kept > MAX_RECORD or kept > max(snaplen, MAX_RECORD):
                raise Malformed(f"pcap record at offset {self._offset}: {kept} bytes kept, "
                                f"more than the snapshot length {snaplen}")
            if len(self._buf) < 16 + kept:
                break
            data = bytes(self._buf[16:16 + kept])
            del self._buf[:16 + kept]
            self._offset += 16 + kept
            out.append(Record(seconds + frac * scale, data, max(length, kept)))
        return out

    def close(self) -> None:
        """Raise Malformed when the file ended inside its header or a record."""
        if self.header is None:
            raise Malformed(f"pcap file: {len(self._buf)} bytes, shorter than its header")
        if self._buf:
            raise Malformed(f"pcap file truncated at offset {self._offset}: "
                            f"{len(self._buf)} bytes of a record")

    def _parse_header(self, raw: bytes) -> Header:
        for order in "<>":
            magic = struct.unpack(order + "I", raw[:4])[0]
            if magic in (MAGIC_MICRO, MAGIC_NANO):
                _, major, minor, _, _, snaplen, linktype = struct.unpack(order + "IHHiIII", raw)
                if major != 2:
                    raise Malformed(f"pcap file: version {major}.{minor}, not 2.x")
                self._rec = struct.Struct(order + "IIII")
                return Header(linktype & 0x0FFFFFFF, snaplen, magic == MAGIC_NANO, order)
        if raw[:4] == b"\x0a\x0d\x0d\x0a":
            raise Malformed("pcap file: this is a pcapng file; socklab reads pcap "
                            "(convert it with 'tcpdump -r IN -w OUT')")
        raise Malformed(f"pcap file: magic 0x{raw[:4].hex()} is not pcap's")
