"""Tour section: the course's TCP call sequence (figure 4), for real on loopback.

Server: socket, bind, listen, accept. Client: socket, connect. Then send and
recv both ways, and close. The client never calls bind: the kernel gives it
an ephemeral port from ``net.ipv4.ip_local_port_range`` at connect time
(course 2.2.1), which the section reads back with getsockname and checks.
"""

from __future__ import annotations

import socket

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli.tour import Tour
from socklab.stack import sysctl as procfs  # read_sysctl

TIMEOUT = 5.0


def section(t: Tour) -> None:
    _ = t._
    t.say(_("A server socket needs a known address: socket(), then bind() to 127.0.0.1 "
            "(port 0 asks the kernel for any free port), then listen() to accept connections."))
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
    t.say(_("The client only calls socket() and connect(): no bind(). connect() starts the "
            "three-way handshake; the kernel completes it and queues the connection until the "
            "server calls accept()."))
    try:
        t.role(_("client"))
        with t.traced():
            client = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            client.settimeout(TIMEOUT)
            with t.traced():
                client.connect((host, port))
                chost, cport = client.getsockname()
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
                t.say(_("Data flows both ways with send() and recv(): a stream of bytes with no "
                        "message boundaries."))
                with t.traced():
                    client.sendall(b"bonjour")
                    got = conn.recv(1024)
                    conn.sendall(got.upper())
                    back = client.recv(1024)
                t.fact(_("client sent"), repr(b"bonjour"))
                t.fact(_("server answered"), repr(back))
                t.say(_("close() on the client sends FIN; the server's recv() then returns 0 "
                        "bytes, which is how a stream socket sees the end of the peer's data."))
                with t.traced():
                    client.close()
                    eof = conn.recv(1024)
                t.fact(_("server's recv after the client closed"), repr(eof), _("end of stream"))
            finally:
                with t.traced():
                    conn.close()
        finally:
            client.close()
    finally:
        with t.traced():
            server.close()
    t.next_steps("socklab --trace listen tcp:127.0.0.1:8000",
                 "socklab --trace connect tcp:127.0.0.1:8000   " + _("(in a second terminal)"))
