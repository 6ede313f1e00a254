"""Tour section: the socket table (course 2.1.1, ``netstat -anp``) of the tour's own sockets.

The section opens a TCP listener with one connection, a UDP socket, a UNIX
listener and a socketpair, then asks the kernel (sock_diag) for the sockets
this process owns: their kinds, states, queues and names, and the owner
(pid, fd), as ``netstat -anp`` and ``ss -anp`` show them.
"""

from __future__ import annotations

import os
import socket
import tempfile

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli import render
from socklab.cli.tour import Tour
from socklab.socktable.table import sockets

COLUMNS = [
    render.Column("netid", "KIND"), render.Column("state", "STATE"),
    render.Column("recv_q", "RECV-Q", right=True), render.Column("send_q", "SEND-Q", right=True),
    render.Column("local", "LOCAL"), render.Column("peer", "PEER"),
    render.Column("owner", "OWNER (pid/fd)", shrink=True),
]


def section(t: Tour) -> None:
    _ = t._
    t.say(_("Every socket is a kernel object with a file descriptor in its process. The kernel "
            "lists them all (netstat -anp, ss -anp): here are the ones this tour opens now, as "
            "the kernel's sock_diag interface reports them."))
    opened: list[socket.socket] = []
    with tempfile.TemporaryDirectory(prefix="socklab-tour-") as tmp:
        try:
            srv = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
            opened.append(srv)
            srv.bind(("127.0.0.1", 0))
            srv.listen(8)
            cli = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
            opened.append(cli)
            cli.connect(srv.getsockname())
            acc, _peer = srv.accept()
            opened.append(acc)
            cli.sendall(b"not read yet")  # shows up in the accepted socket's Recv-Q
            udp = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
            opened.append(udp)
            udp.bind(("127.0.0.1", 0))
            unix = ksock.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            opened.append(unix)
            unix.bind(os.path.join(tmp, "tour.sock"))
            unix.listen(1)
            opened.extend(ksock.socketpair())
            pid = os.getpid()
            records = list(sockets("tcp", "udp", "unix", all_states=True, pids=[pid],
                                   processes=True))
            rows = [{"netid": r.netid, "state": r.state, "recv_q": r.recv_q, "send_q": r.send_q,
                     "local": r.local(), "peer": r.peer(),
                     "owner": ",".join(f"{p.pid}/{p.fd}" for p in r.processes or ())}
                    for r in records]
            t.lines(render.table(rows, COLUMNS, width=t.width - 4), data=rows)
            t.fact(_("sockets owned by this process (pid)"), f"{len(records)} ({pid})")
            t.say(_("Read it with the course: the LISTEN socket's Send-Q is its backlog (8) and "
                    "its Recv-Q the connections waiting for accept(); the ESTAB pair is the "
                    "client and the accepted socket, and the 12 bytes sent but not yet read wait "
                    "in the accepted socket's Recv-Q. The UDP socket is UNCONN: datagram sockets "
                    "have no connection. A UNIX socket is named by a path (or '*' when unnamed, "
                    "as both ends of a socketpair); its peer is given by inode number."))
        finally:
            for s in opened:
                s.close()
    t.next_steps("socklab sockets -p", "socklab sockets tcp --listening")
