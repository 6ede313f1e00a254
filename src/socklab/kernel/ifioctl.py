"""The interface ioctls ``ifconfig`` uses (netdevice(7)), for when rtnetlink cannot be
opened: index, flags, MTU, hardware address, queue length of an interface, and
the IPv4 addresses that have a label (SIOCGIFCONF lists one per label, the way
``ifconfig`` shows ``eth0`` and ``eth0:1``).

The socket given must be made in the namespace to look at; the names come from
/proc/net/dev of that namespace.
"""

from __future__ import annotations

import array
import fcntl
import socket
import struct

__all__ = ["ifindex", "ipv4_addresses", "link_info"]

SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR = 0x8912, 0x8913, 0x8915, 0x8919
SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFHWADDR = 0x891B, 0x8921, 0x8927
SIOCGIFINDEX, SIOCGIFTXQLEN = 0x8933, 0x8942
IFREQ = 40  # struct ifreq: a 16-byte name, then a 24-byte union
IFF_BROADCAST = 0x2


def _ifreq(sock: socket.socket, request: int, name: str) -> bytes:
    return fcntl.ioctl(sock.fileno(), request, struct.pack("16s24x", name.encode()))


def _addr_req(sock: socket.socket, request: int, label: str, address: bytes) -> bytes:
    """An address ioctl naming the address too: among addresses sharing a label (the
    secondaries of eth0), the kernel then answers for this one (devinet_ioctl)."""
    req = struct.pack("16sH2s4s16x", label.encode(), socket.AF_INET, b"", address)
    return fcntl.ioctl(sock.fileno(), request, req)[20:24]


def _int(sock: socket.socket, request: int, name: str) -> int:
    return int(struct.unpack_from("i", _ifreq(sock, request, name), 16)[0])


def ifindex(sock: socket.socket, name: str) -> int:
    """The index of interface ``name`` (SIOCGIFINDEX). Raises OSError (ENODEV)."""
    return _int(sock, SIOCGIFINDEX, name)


def link_info(sock: socket.socket, name: str) -> tuple[int, int, int, int, bytes, int]:
    """``(ifindex, flags, mtu, ARPHRD type, hardware address, txqueuelen)``.
    Raises OSError (ENODEV) for an unknown name."""
    flags = struct.unpack_from("H", _ifreq(sock, SIOCGIFFLAGS, name), 16)[0]
    hw = _ifreq(sock, SIOCGIFHWADDR, name)
    hw_type = struct.unpack_from("H", hw, 16)[0]
    return (ifindex(sock, name), flags, _int(sock, SIOCGIFMTU, name), hw_type,
            hw[18:24], _int(sock, SIOCGIFTXQLEN, name))


def ipv4_addresses(sock: socket.socket) -> list[tuple[str, str, str, str | None]]:
    """``(label, address, netmask, broadcast or None)`` of each labelled IPv4 address."""
    buf = array.array("B", bytes(IFREQ * 512))
    pointer, _ = buf.buffer_info()
    size = struct.unpack("iL", fcntl.ioctl(sock.fileno(), SIOCGIFCONF,
                                           struct.pack("iL", len(buf), pointer)))[0]
    data = buf.tobytes()[:size]
    out = []
    for off in range(0, size, IFREQ):
        label = data[off:off + 16].split(b"\0", 1)[0].decode(errors="replace")
        raw = data[off + 20:off + 24]
        mask = socket.inet_ntoa(_addr_req(sock, SIOCGIFNETMASK, label, raw))
        flags = struct.unpack_from("H", _ifreq(sock, SIOCGIFFLAGS, label), 16)[0]
        broadcast = (socket.inet_ntoa(_addr_req(sock, SIOCGIFBRDADDR, label, raw))
                     if flags & IFF_BROADCAST else None)
        address = socket.inet_ntoa(raw)
        if broadcast == "0.0.0.0":  # none was set (ip addr add without brd)
            broadcast = None
        out.append((label, address, mask, broadcast))
    return out
