"""Tour section: addresses (course 2.2.1): INADDR_ANY against one address, and fork().

A socket bound to INADDR_ANY (0.0.0.0) answers on every address of the machine;
one bound to 127.0.0.1 only there, so a connection to 127.0.0.2 (also on lo)
is refused. Then socketpair() and fork(): the child inherits both ends (file
descriptors are copied by fork(2)); each process closes the end it does not use.
"""

from __future__ import annotations

import errno
import os
import socket

import socklab as ksock
from socklab.cli.tour import Tour

TIMEOUT = 5.0


def section(t: Tour) -> None:
    _ = t._
    t.say(_("A server may bind INADDR_ANY (0.0.0.0): all the machine's addresses at once. "
            "Bound to one address, it is reached only there. Both are on lo here: 127.0.0.1 "
            "and 127.0.0.2 are two addresses of the loopback network 127.0.0.0/8."))
    for bound in ("0.0.0.0", "127.0.0.1"):
        _try_both(t, bound)
    t.say(_("socketpair() gives two connected anonymous sockets; fork() copies the process "
            "with its file descriptors, so parent and child share both ends. Each keeps one "
            "end and closes the other, then they talk. The child's calls are not traced: "
            "they happen in another process."))
    t.role(_("parent's end"), _("child's end"))
    with t.traced():
        parent_end, child_end = ksock.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    parent_end.settimeout(TIMEOUT)
    pid = os.fork()
    if pid == 0:  # the child: only async-signal-safe work, then _exit (fork(2))
        code = 0
        try:
            parent_end.close()
            os.write(child_end.fileno(), f"pid {os.getpid()}".encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    try:
        with t.traced():
            child_end.close()
            got = parent_end.recv(100)
    finally:
        parent_end.close()
        _pid, status = os.waitpid(pid, 0)
    t.fact(_("the child (pid {pid}) wrote").format(pid=pid), repr(got),
           _("exit status {code}").format(code=os.waitstatus_to_exitcode(status)))
    t.next_steps("socklab listen tcp:0.0.0.0:8000   " + _("then: socklab sockets tcp --listening"),
                 "socklab --trace connect tcp:127.0.0.2:8000")


def _try_both(t: Tour, bound: str) -> None:
    _ = t._
    t.role(_("listening on {address}").format(address=bound))
    with t.traced():
        server = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with t.traced():
            server.bind((bound, 0))
            server.listen(2)
        port = server.getsockname()[1]
        for dst in ("127.0.0.1", "127.0.0.2"):
            t.role(_("client"))
            with t.traced():
                client = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                client.settimeout(TIMEOUT)
                with t.traced():
                    failed = client.connect_ex((dst, port))
                if failed:
                    t.fact(_("bound to {bound}, connect to {dst}").format(bound=bound, dst=dst),
                           errno.errorcode.get(failed, str(failed)),
                           _("no socket listens on this address and port"))
                    continue
                t.role(_("accepted"))
                with t.traced():
                    conn, _peer = server.accept()
                local = conn.getsockname()[0]
                with t.traced():
                    conn.close()
                t.fact(_("bound to {bound}, connect to {dst}").format(bound=bound, dst=dst),
                       _("accepted"), _("the accepted socket's local address is {local}")
                       .format(local=local))
            finally:
                with t.traced():
                    client.close()
    finally:
        with t.traced():
            server.close()
