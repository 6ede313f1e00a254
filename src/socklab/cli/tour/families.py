"""Tour section: the families of sockets (course 2.1.1), one socket of each.

For each family the course names (PF_UNIX, PF_INET, PF_INET6, PF_PACKET,
PF_NETLINK, PF_KEY) and the raw IP socket of its ping example, the tour asks
socket(2) for one and shows the answer: a descriptor, or the errno that says
why not (EPERM: a capability is missing; EAFNOSUPPORT: the kernel has no such
family; ESOCKTNOSUPPORT / EPROTONOSUPPORT: the family has no such type or
protocol).

Rules:

1. Nothing is changed on the machine: a family whose code is a module not
   loaded (PF_KEY without ``/proc/net/pfkey``) is not asked for, since
   socket(2) would have the kernel run modprobe for it (``request_module`` in
   net/socket.c); the section says so. EAFNOSUPPORT is shown with a family
   number past AF_MAX, which the kernel refuses before looking for a module.
2. Every socket made is closed before the section ends.
"""

from __future__ import annotations

import os
import socket

import socklab as ksock  # socklab.socket: the traced factory
from socklab.cli.tour import Tour
from socklab.cli.tour.lang import N_

NETLINK_ROUTE = 0
PF_KEY_V2 = 2  # <linux/pfkeyv2.h>
AF_KEY = getattr(socket, "AF_KEY", 15)
ETH_P_ALL = 0x0003  # <linux/if_ether.h>: every protocol
NO_SUCH_FAMILY = 250  # past AF_MAX (46 in Linux 6.x): refused with EAFNOSUPPORT at once

# (label, family, type, protocol, the course's words), in the course's order
FAMILIES: list[tuple[str, int, int, int, str]] = [
    ("PF_UNIX", socket.AF_UNIX, socket.SOCK_STREAM, 0,
     N_("local sockets: two processes of the same machine")),
    ("PF_INET", socket.AF_INET, socket.SOCK_STREAM, 0,
     N_("IPv4 network sockets (they also work locally, through lo)")),
    ("PF_INET6", socket.AF_INET6, socket.SOCK_STREAM, 0,
     N_("IPv6 network sockets (beyond the course)")),
    ("PF_INET SOCK_RAW", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP,
     N_("the raw IP socket of ping: reserved to root (CAP_NET_RAW)")),
    ("PF_PACKET", socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL),
     N_("low-level sockets at the link layer, for sniffers and packet forgers; "
        "Linux only, reserved to root (CAP_NET_RAW)")),
    ("PF_NETLINK", socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE,
     N_("between a process and the kernel: the routing table, the interfaces "
        "(beyond the course)")),
    ("PF_KEY", AF_KEY, socket.SOCK_RAW, PF_KEY_V2,
     N_("between a process and the kernel: the IPsec keys (beyond the course); "
        "needs CAP_NET_ADMIN")),
]

# (the call as strace shows it, family, type, protocol, why the kernel refuses):
# family, type and protocol must fit
MISFITS: list[tuple[str, int, int, int, str]] = [
    ("socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE)",
     socket.AF_NETLINK, socket.SOCK_STREAM, NETLINK_ROUTE,
     N_("a netlink socket sends datagrams, never a stream: the type does not fit the "
        "family")),
    ("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)",
     socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP,
     N_("TCP is the only protocol of (PF_INET, SOCK_STREAM): the protocol does not fit "
        "(0 picks the family's own)")),
    (f"socket({NO_SUCH_FAMILY}, SOCK_STREAM, 0)", NO_SUCH_FAMILY, socket.SOCK_STREAM, 0,
     N_("no such family in this kernel")),
]


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The family (or domain) of a socket is given when it is made and never changes "
            "(course 2.1.1). socket(domain, type, protocol) either returns a descriptor or "
            "says why not: EPERM when a capability is missing, EAFNOSUPPORT when the kernel "
            "has no such family. One socket of each family the course names:"))
    made: list[socket.socket] = []
    try:
        for label, family, kind, proto, words in FAMILIES:
            if family == AF_KEY and not os.path.exists("/proc/net/pfkey"):
                t.fact(label, _("not asked for"), _(
                    "the af_key module is not loaded (no /proc/net/pfkey): socket() would make "
                    "the kernel load it, a change to this machine"))
                continue
            t.role(label)
            t.fact(label, _ask(t, made, family, kind, proto), _(words))
        t.say(_("The type and the protocol must fit the family too: the protocol is usually 0, "
                "the one protocol of the (family, type) pair; ICMP sockets are the exception "
                "(course 3.1)."))
        for call, family, kind, proto, why in MISFITS:
            t.fact(call, _ask(t, made, family, kind, proto), _(why))
    finally:
        with t.traced():
            for s in made:
                s.close()
    if any(step.get("value") == "EPERM" for step in t.steps()):
        t.say(_("EPERM: this process lacks CAP_NET_RAW (or CAP_NET_ADMIN for PF_KEY). Run as "
                "root, the same calls return a descriptor."))
    t.next_steps("socklab sockets -a -x", "socklab sockets -a --netlink")


def _ask(t: Tour, made: list[socket.socket], family: int, kind: int, proto: int) -> str:
    """socket(family, kind, proto), traced: ``fd N`` (the socket kept in ``made``, closed
    at the section's end) or the errno's name."""
    with t.traced():
        try:
            made.append(ksock.socket(family, kind, proto))
        except OSError as exc:
            return _errno_name(exc)
    return t._("fd {fd}").format(fd=made[-1].fileno())


def _errno_name(exc: OSError) -> str:
    import errno

    return errno.errorcode.get(exc.errno or 0, str(exc.errno))
