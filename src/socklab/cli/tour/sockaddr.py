"""Tour section: struct sockaddr (course 2.2.2): what an address is, byte by byte.

For a socket of each family the machine allows, the kernel's own bytes of its
local address: libc's getsockname(2) on the socket's fd, into a struct
sockaddr_storage (socklab.kernel.sockaddr), as long as the length the kernel wrote.
The fields are then read as <netinet/in.h>, <sys/un.h> and <linux/netlink.h>
lay them out: sa_family first (host order), then the family's own fields.
"""

from __future__ import annotations

import os
import socket
import struct
import tempfile
from collections.abc import Callable

import socklab as ksock
from socklab.cli.tour import Tour
from socklab.talk.net import sockaddr_bytes as local_bytes


def fields(data: bytes) -> str:
    """The fields of a sockaddr the tour made (family, then its own fields)."""
    family = struct.unpack_from("=H", data)[0] if len(data) >= 2 else None
    if family == socket.AF_INET and len(data) >= 8:
        port, = struct.unpack_from("!H", data, 2)
        return f"sin_family={family} sin_port={port} sin_addr={socket.inet_ntoa(data[4:8])}"
    if family == socket.AF_INET6 and len(data) >= 24:
        port, = struct.unpack_from("!H", data, 2)
        addr = socket.inet_ntop(socket.AF_INET6, data[8:24])
        return f"sin6_family={family} sin6_port={port} sin6_addr={addr}"
    if family == socket.AF_UNIX:
        path = data[2:]
        if not path:
            return f"sun_family={family} (unnamed)"
        if path[:1] == b"\0":
            return f"sun_family={family} sun_path=\\0{path[1:].decode(errors='replace')}"
        name = path.rstrip(b"\x00").decode(errors="replace")
        return f"sun_family={family} sun_path={name}"
    if family == socket.AF_NETLINK and len(data) >= 12:
        pid, groups = struct.unpack_from("=II", data, 4)
        return f"nl_family={family} nl_pid={pid} nl_groups={groups}"
    return f"family={family}"


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The socket calls take a struct sockaddr *, a generic type: the first two bytes "
            "say the family, the rest depends on it, and a length says how many bytes count. "
            "Below, each family's address as the kernel wrote it for getsockname(): port and "
            "IPv4 address in network order (big-endian), the family in host order."))
    with tempfile.TemporaryDirectory(prefix="socklab-tour-") as tmp:
        for label, make in _examples(tmp):
            try:
                s = make()
            except OSError as exc:
                t.fact(label, _("not available here"), exc.strerror or str(exc))
                continue
            try:
                data = local_bytes(s.fileno())
            finally:
                s.close()
            t.fact(label, _("{size} bytes").format(size=len(data)), fields(data))
            t.lines([data.hex(" ")], data={"hex": data.hex(), "size": len(data)})
    t.say(_("sockaddr_in is 16 bytes (8 of them padding, sin_zero), sockaddr_in6 28, "
            "sockaddr_un up to 110 (2 + 108 of path) and a socket with no name only its "
            "2-byte family; struct sockaddr_storage (128 bytes) holds any of them."))
    t.next_steps("python3 -c 'import socket; print(socket.getaddrinfo(\"localhost\", 80))'",
                 "socklab sockets udp")


def _examples(tmp: str) -> list[tuple[str, Callable[[], socket.socket]]]:
    def inet() -> socket.socket:
        s = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        return s

    def inet6() -> socket.socket:
        s = ksock.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        return s

    def unix_path() -> socket.socket:
        s = ksock.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(os.path.join(tmp, "a.sock"))
        return s

    def unix_abstract() -> socket.socket:
        s = ksock.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(f"\0socklab-tour-{os.getpid()}")
        return s

    def unix_anonymous() -> socket.socket:
        a, b = ksock.socketpair()
        b.close()
        return a

    def netlink() -> socket.socket:
        s = ksock.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
        s.bind((0, 0))
        return s

    return [("AF_INET 127.0.0.1", inet), ("AF_INET6 ::1", inet6),
            ("AF_UNIX path", unix_path), ("AF_UNIX abstract", unix_abstract),
            ("AF_UNIX socketpair", unix_anonymous), ("AF_NETLINK", netlink)]
