"""Tour section: the course's TCP call sequence (figure 4), for real on loopback.

Server: socket, bind, listen, accept. Client: socket, connect. Then send and
recv both ways, and close. The client never calls bind: the kernel gives it
an ephemeral port from ``net.ipv4.ip_local_port_range`` at connect time
(course 2.2.1), which the section reads back with getsockname and checks.

Beside the calls (:mod:`socklab.cli.tour.wire`): both sockets' TCP states,
read through sock_diag after each step, and, with CAP_NET_RAW, the packets
(SYN, SYN-ACK, ACK, the data, the FIN exchange) in a three-column diagram at
the end. The stream's buffers (course figure 3): two writes, the bytes the
receive buffer holds (FIONREAD) before one read takes them all.
"""

from __future__ import annotations

import socket

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli.tour import Tour
from socklab.cli.tour.wire import Wire, queued
from socklab.stack import sysctl as procfs  # read_sysctl

TIMEOUT = 5.0
WRITES = (b"bonjour", b", serveur")


def section(t: Tour) -> None:
    _ = t._
    t.say(_("A server socket needs a known address: socket(), then bind() to 127.0.0.1 "
            "(port 0 asks the kernel for any free port), then listen() to accept connections."))
    wire = Wire(t, "tcp")
    t.role(_("listening"))
    with t.traced():
        server = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            server.settimeout(TIMEOUT)
            server.bind(("127.0.0.1", 0))
            host, port = server.getsockname()
            server.listen(1)
        except BaseException:
            server.close()
            raise
    t.fact(_("server listens on"), f"{host}:{port}")
    wire.name(_("listening"), port, side="server")
    try:
        wire.start_capture(port)
        wire.states()
        _exchange(t, wire, server, host, port)
    finally:
        with t.traced():
            server.close()
        wire.states()
        wire.finish()
    t.next_steps("socklab explain tcp --server-closes-first",
                 "socklab --trace listen tcp:127.0.0.1:8000; socklab --trace connect "
                 "tcp:127.0.0.1:8000   " + _("(in a second terminal)"))


def _exchange(t: Tour, wire: Wire, server: socket.socket, host: str, port: int) -> None:
    _ = t._
    t.say(_("The client only calls socket() and connect(): no bind(). connect() starts the "
            "three-way handshake; the kernel completes it and queues the connection until the "
            "server calls accept()."))
    t.role(_("client"))
    with t.traced():
        client = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.settimeout(TIMEOUT)
        with t.traced():
            client.connect((host, port))
            chost, cport = client.getsockname()
        wire.name(_("client"), cport, port)
        wire.name(_("accepted"), port, cport, side="server")
        wire.states()
        t.say(_("Both ends are ESTABLISHED before accept() is called: the handshake is the "
                "kernel's work, and the connection waits in the listening socket's queue."))
        low, high = (int(x) for x in procfs.read_sysctl("net.ipv4.ip_local_port_range").split())
        inside = low <= cport <= high
        t.fact(_("ephemeral port chosen by the kernel"), cport,
               (_("net.ipv4.ip_local_port_range is {low}-{high}: inside") if inside else
                _("net.ipv4.ip_local_port_range is {low}-{high}: OUTSIDE"))
               .format(low=low, high=high))
        t.say(_("accept() takes the first queued connection and returns a NEW socket for it; "
                "the listening socket stays open for the next client. The peer address it "
                "returns is the client's address and ephemeral port."))
        t.role(_("accepted"))
        with t.traced():
            conn, peer = server.accept()
        try:
            conn.settimeout(TIMEOUT)
            t.fact(_("accepted peer"), f"{peer[0]}:{peer[1]}",
                   _("same as the client's getsockname") if peer == (chost, cport) else
                   _("differs from the client's getsockname!"))
            _data(t, client, conn)
            t.say(_("close() on the client sends FIN; the server's recv() then returns 0 "
                    "bytes, which is how a stream socket sees the end of the peer's data."))
            with t.traced():
                client.close()
            wire.states()
            with t.traced():
                eof = conn.recv(1024)
            t.fact(_("server's recv after the client closed"), repr(eof), _("end of stream"))
        finally:
            with t.traced():
                conn.close()
            wire.states()
        t.say(_("The side that closed first waits in TIME-WAIT (twice the maximum segment "
                "lifetime, 60 s on Linux) so that a late packet of this connection cannot be "
                "taken for one of the next; the other side's socket is gone."))
    finally:
        client.close()


def _data(t: Tour, client: socket.socket, conn: socket.socket) -> None:
    """Two writes, one read: a stream keeps no boundaries (course figure 3)."""
    _ = t._
    t.say(_("Data flows both ways with send() and recv(): a stream of bytes with no "
            "message boundaries. The client writes twice; the bytes wait in the accepted "
            "socket's receive buffer, and one recv() takes them all."))
    with t.traced():
        for piece in WRITES:
            client.sendall(piece)
    waiting = queued(conn)
    unacked = queued(client, "out")
    t.fact(_("bytes in the accepted socket's receive buffer"), waiting,
           _("ioctl FIONREAD, before any read"))
    t.fact(_("bytes in the client's send buffer"), unacked,
           _("SIOCOUTQ: sent and acknowledged already, on loopback"))
    with t.traced():
        got = conn.recv(1024)
        conn.sendall(got.upper())
        back = client.recv(1024)
    t.fact(_("client sent"), " + ".join(repr(p) for p in WRITES))
    t.fact(_("one recv() read"), repr(got),
           _("two writes, one read: the boundary between them is lost"))
    t.fact(_("server answered"), repr(back))
    t.figure("buffers", {"mode": "stream", "writes": [len(p) for p in WRITES],
                         "queued": waiting, "unacked": unacked, "reads": [len(got)],
                         "answer": len(back)})
