"""Tour section: sysctl, the kernel's MIB (course 1.3.3), and setsockopt against it.

A few keys read from /proc/sys with their BSD names; ``sysctl -w`` done in a
scratch network namespace when the process may make one (net.* keys are per
namespace: this machine's values never change); then the contrast of the
course: a sysctl sets a default for the whole system, ``setsockopt`` one
socket's option, shown with SO_RCVBUF against net.core.rmem_default.
"""

from __future__ import annotations

import socket

import socklab as ksock
from socklab.cli.tour import Tour
from socklab.errors import MissingPrivilege
from socklab.stack import sysctl
from socklab.stack.change import in_new_namespace

# (Linux key, its BSD name: sysctl(3) on FreeBSD; the course quotes the first two)
KEYS = [
    ("net.ipv4.ip_forward", "net.inet.ip.forwarding"),
    ("net.ipv4.ip_local_port_range", "net.inet.ip.portrange.first / .last"),
    ("net.ipv4.tcp_syncookies", "net.inet.tcp.syncookies"),
    ("net.core.somaxconn", "kern.ipc.somaxconn"),
    ("net.core.rmem_default", "net.inet.tcp.recvspace"),
]


def section(t: Tour) -> None:
    _ = t._
    t.say(_("Each protocol layer has fine parameters for the whole system, read and written "
            "through the sysctl MIB: a tree of keys (net.ipv4.tcp_syncookies), which Linux "
            "also shows as files under /proc/sys. The names differ from one system to "
            "another: sysctl is not portable."))
    for key, bsd in KEYS:
        (setting,) = sysctl.read(key)
        t.fact(key, setting.text.replace("\t", " "), _("BSD: {name}").format(name=bsd))
    t.say(_("sysctl -w needs root. net.* keys belong to a network namespace, so the tour writes "
            "net.ipv4.ip_forward in a scratch namespace of its own: this machine's value does "
            "not change."))
    try:
        old, new = in_new_namespace(_write_forward)
        t.fact("sysctl -w net.ipv4.ip_forward=1", f"{old} -> {new}",
               _("in a scratch namespace, gone after this line"))
    except MissingPrivilege as exc:
        t.fact("sysctl -w net.ipv4.ip_forward=1", _("not done"), str(exc))
    t.say(_("A sysctl is a default for every socket; setsockopt() sets one option of one "
            "socket. Here SO_RCVBUF, the size of one socket's receive buffer: a new socket "
            "starts from net.core.rmem_default, and setsockopt() changes it for that socket "
            "alone (the kernel doubles the value asked, for its bookkeeping: socket(7))."))
    (default,) = sysctl.read("net.core.rmem_default")
    t.role(_("buffer demo"))
    with t.traced():
        s = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            before = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            after = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        finally:
            s.close()
    (still,) = sysctl.read("net.core.rmem_default")
    t.fact("SO_RCVBUF", f"{before} -> {after}", _("setsockopt asked 65536"))
    t.fact("net.core.rmem_default", f"{default.text} -> {still.text}",
           _("the system's default did not move"))
    t.next_steps("socklab sysctl --explain net.ipv4.ip_forward",
                 "socklab sysctl 'net.ipv4.tcp_*'")


def _write_forward() -> tuple[str, str]:
    setting = sysctl.write("net.ipv4.ip_forward", "1")
    (now,) = sysctl.read("net.ipv4.ip_forward")
    return setting.old or "?", now.text
