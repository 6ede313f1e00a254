"""Read IPsec's state from the kernel: ``socklab.ipsec_policies()``, ``ipsec_states()``.

One ``NETLINK_XFRM`` socket per call (in the named namespace when ``netns`` is
given), one dump, decoded by :mod:`socklab.ipsec.xfrm`. The kernel answers
xfrm requests only with CAP_NET_ADMIN (net/xfrm/xfrm_user.c checks it for
every message): MissingPrivilege otherwise.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from contextlib import nullcontext
from typing import TypeVar

from socklab.errors import MissingPrivilege, NetworkError, from_oserror
from socklab.ipsec import xfrm
from socklab.ipsec.model import SA, Policy
from socklab.kernel import caps, netlink
from socklab.kernel import netns as knetns

__all__ = ["ipsec_policies", "ipsec_states"]

T = TypeVar("T")


def _dump(what: str, msg_type: int, reply: int, decode: Callable[[memoryview, int, int], T],
          netns: str | None) -> list[T]:
    op = f"ipsec: dump the {what}"
    if not caps.has("CAP_NET_ADMIN"):
        raise MissingPrivilege(op, "CAP_NET_ADMIN", "run as root or with CAP_NET_ADMIN")
    with knetns.entered(netns) if netns else nullcontext():
        try:
            sock = netlink.NetlinkSocket(netlink.NETLINK_XFRM)
        except OSError as exc:
            if exc.errno == errno.EPROTONOSUPPORT:
                raise NetworkError(op, exc.errno, "this kernel has no xfrm (IPsec) support "
                                   "(CONFIG_XFRM_USER)") from exc
            raise from_oserror(exc, op, "CAP_NET_ADMIN") from exc
    with sock:
        try:
            return [decode(buf, start, end) for buf, mtype, start, end
                    in sock.dump(msg_type, b"") if mtype == reply]
        except OSError as exc:
            raise from_oserror(exc, op, "CAP_NET_ADMIN") from exc


def ipsec_policies(netns: str | None = None) -> list[Policy]:
    """The security policies (``ip xfrm policy``), in the kernel's order."""
    return _dump("security policies", xfrm.XFRM_MSG_GETPOLICY, xfrm.XFRM_MSG_NEWPOLICY,
                 xfrm.decode_policy, netns)


def ipsec_states(netns: str | None = None, show_keys: bool = False) -> list[SA]:
    """The security associations (``ip xfrm state``); keys only with ``show_keys``."""
    def decode(buf: memoryview, start: int, end: int) -> SA:
        return xfrm.decode_sa(buf, start, end, keys=show_keys)

    return _dump("security associations", xfrm.XFRM_MSG_GETSA, xfrm.XFRM_MSG_NEWSA,
                 decode, netns)
