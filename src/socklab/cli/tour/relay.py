"""Tour section: roles (course 2.1.3): a client, a server, and a relay that is both.

A role is not a property of a socket but the result of the calls made with it:
the relay accepts its client like a server (listen, accept) and reaches the
server like a client (connect), then copies bytes both ways. One thread is
enough here: each message is small and the kernel's buffers hold it.
"""

from __future__ import annotations

import socket

import socklab as ksock
from socklab.cli.tour import Tour

TIMEOUT = 5.0


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The server is started first at a known address; the client contacts it when it "
            "is ready. A relay (socat, a proxy) plays both roles: server for the client, "
            "client for the server. The role is given by the calls made, not by the socket."))
    opened: list[socket.socket] = []

    def new(role: str) -> socket.socket:
        t.role(role)
        s = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
        opened.append(s)
        s.settimeout(TIMEOUT)
        return s

    try:
        with t.traced():
            server = new(_("server"))
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            relay = new(_("relay, listening"))
            relay.bind(("127.0.0.1", 0))
            relay.listen(1)
            client = new(_("client"))
            client.connect(relay.getsockname())
            t.role(_("relay, facing the client"))
            down, _peer = relay.accept()
            opened.append(down)
            up = new(_("relay, facing the server"))
            up.connect(server.getsockname())
            t.role(_("server, facing the relay"))
            conn, relay_addr = server.accept()
            opened.append(conn)
            client.sendall(b"question")
            up.sendall(down.recv(100))
            conn.sendall(conn.recv(100).upper())
            down.sendall(up.recv(100))
            answer = client.recv(100)
        t.fact(_("client sent, through the relay"), repr(b"question"))
        t.fact(_("client got back"), repr(answer))
        t.fact(_("the server sees as its client"), f"{relay_addr[0]}:{relay_addr[1]}",
               _("the relay's own ephemeral port, not the client's {port}").format(
                   port=client.getsockname()[1]))
    finally:
        with t.traced():
            for s in reversed(opened):
                s.close()
    t.next_steps("socklab --trace relay --listen tcp:127.0.0.1:8001 tcp:127.0.0.1:8000",
                 "socklab sockets tcp -p")
