"""Tour section: local sockets (course 2.1.1, 2.2.1): a path, an abstract name, a socketpair.

A UNIX socket bound to a path appears in the file system as a file of type
's'; an abstract name (Linux) lives only in the kernel; socketpair() gives two
connected sockets with no name at all.
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli.tour import Tour


def section(t: Tour) -> None:
    _ = t._
    t.say(_("PF_UNIX sockets join processes of one machine. A server binds a file name; the "
            "kernel creates a file of type socket ('s' in ls -l) that clients connect() to."))
    with tempfile.TemporaryDirectory(prefix="socklab-tour-") as tmp:
        path = os.path.join(tmp, "tour.sock")
        t.role(_("listening"))
        with t.traced():
            srv = ksock.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with t.traced():
                srv.bind(path)
                srv.listen(1)
            mode = os.lstat(path).st_mode
            t.fact(f"ls -l {os.path.basename(path)}", stat.filemode(mode),
                   _("the 's' says: a socket") if stat.S_ISSOCK(mode) else "?")
            t.role(_("client"), _("accepted"))
            with t.traced():
                cli = ksock.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                cli.connect(path)
                conn, _peer = srv.accept()
                cli.sendall(b"local")
                got = conn.recv(100)
                conn.close()
                cli.close()
            t.fact(_("received over the path socket"), repr(got))
        finally:
            srv.close()
    t.say(_("An abstract name starts with a NUL byte: no file is created, and the name goes "
            "away with the last socket bound to it."))
    name = f"socklab-tour-{os.getpid()}"
    t.role(_("listening"), _("client"), _("accepted"))
    with t.traced():
        srv = ksock.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            srv.bind("\0" + name)
            srv.listen(1)
            cli = ksock.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            cli.connect("\0" + name)
            conn, _peer = srv.accept()
            cli.send(b"one")
            cli.send(b"two")
            first, second = conn.recv(100), conn.recv(100)
            conn.close()
            cli.close()
        finally:
            srv.close()
    t.fact(_("@{name} (SOCK_SEQPACKET) delivered").format(name=name), f"{first!r}, {second!r}",
           _("a connection that keeps message boundaries"))
    t.say(_("socketpair() makes two sockets already connected to each other, with no name: "
            "the anonymous sockets of the course, shared by a parent and its child after fork()."))
    t.role(_("anonymous a"), _("anonymous b"))
    with t.traced():
        a, b = ksock.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            a.sendall(b"ping")
            got = b.recv(100)
        finally:
            a.close()
            b.close()
    t.fact(_("through the pair"), repr(got))
    t.next_steps("socklab --trace listen unix:/tmp/tour.sock",
                 "socklab sockets unix")
