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

__all__ = ["ipsec_policies", "ipsec_states", "parse_xfrm_stat", "xfrm_stats"]

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


def parse_xfrm_stat(text: str) -> dict[str, int]:
    """``/proc/net/xfrm_stat``'s counters: one ``Name<spaces>count`` a line
    (Documentation/networking/xfrm_proc.rst); a line of another shape is skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines()[:256]:
        parts = line.split()
        # isdigit alone lets '²' through, which int() refuses: ASCII digits only
        if len(parts) == 2 and parts[0].isalnum() and parts[1].isascii() \
                and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def xfrm_stats(proc_root: str = "/proc") -> dict[str, int]:
    """The xfrm error counters of the calling thread's namespace (``XfrmOutNoStates``:
    packets a policy sent to an SA that does not exist ...); empty where the kernel
    keeps none (CONFIG_XFRM_STATISTICS)."""
    from socklab.kernel import procfs

    text = procfs.read_net("xfrm_stat", proc_root)
    return parse_xfrm_stat(text) if text else {}
