"""Persistent tun/tap devices through ``/dev/net/tun`` (the kernel's tuntap.rst).

rtnetlink cannot create a tun or tap device (the tun driver refuses RTM_NEWLINK:
"tun/tap creation via rtnetlink is not supported"), so ``ip tuntap add`` and
``tunctl`` open the clone device, name it with ``TUNSETIFF`` and keep it after
close with ``TUNSETPERSIST``. The device is made in the namespace of the
calling thread.
"""

from __future__ import annotations

import fcntl
import os
import struct

__all__ = ["create"]

TUN_DEVICE = "/dev/net/tun"
# <linux/if_tun.h>: _IOW('T', 202, int) and _IOW('T', 203, int)
TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
TUNSETIFINDEX = 0x400454DA  # _IOW('T', 218, unsigned int): the index TUNSETIFF gives
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000


def create(name: str, tap: bool, index: int = 0) -> None:
    """Create the persistent device ``name`` (tap: Ethernet frames; tun: IP packets),
    with interface index ``index`` when it is not 0 (else the kernel picks one).

    Raises OSError (EPERM without CAP_NET_ADMIN, EBUSY/EEXIST when the name or the
    index is taken).
    """
    fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    try:
        if index:
            fcntl.ioctl(fd, TUNSETIFINDEX, struct.pack("I", index))
        ifr = struct.pack("16sH22x", name.encode(), (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
    finally:
        os.close(fd)
