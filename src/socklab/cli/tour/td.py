"""Tour section: the TD in Python (course 3.2), the course's own code run line by line.

The course gives its code in pieces: ``import socket``, the C prototype
``int sfd = socket(int domaine, int type, int protocole)``, the Python
``socket.socket(socket.AF_INET, socket.SOCK_STREAM)``, the server's calls
``socket() .bind() .listen() .accept()`` (figure 4), the client's
``.connect()``, then ``.send()`` and ``.recv()``, and the closes. The TD puts
them together into a server and a client; this section does exactly that on
loopback, one line at a time: the Python line, the C call it stands for, and
beside them the system calls the line really made (traced).

Rules:

1. Each step runs the Python line it shows, with one difference said once:
   the sockets come from ``socklab.socket`` (the traced factory, a
   ``socket.socket`` with the same methods) so that each call can be shown.
2. Server and client run in one process, one thread, in the course's order:
   on loopback ``connect`` completes the handshake before it returns, so
   ``accept`` finds the connection queued and does not block. Every receive
   has a timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import socklab as ksock
from socklab.cli.tour import Tour
from socklab.cli.tour.lang import N_

TIMEOUT = 2.0

# the course's own snippets (sections 3 and 3.1, figure 4), as printed in it
COURSE_CODE = [
    "import socket",
    "int sfd = socket(int domaine, int type, int protocole)",
    "socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
    "socket()",
    ".bind()",
    ".listen()",
    ".accept()",
    ".connect()  .send()  .recv()",
    "socket(PF_INET, SOCK_RAW, IPPROTO_ICMP)",
]


@dataclass
class _Td:
    """The TD's variables, as its Python program names them."""

    names: dict[str, object] = field(default_factory=dict)
    opened: list[socket.socket] = field(default_factory=list)

    def sock(self, name: str) -> socket.socket:
        s = self.names[name]
        assert isinstance(s, socket.socket)
        return s

    def new(self, name: str, kind: int) -> None:
        s = ksock.socket(socket.AF_INET, kind)
        s.settimeout(TIMEOUT)
        self.opened.append(s)
        self.names[name] = s

    def accept(self) -> None:
        conn, addr = self.sock("srv").accept()
        conn.settimeout(TIMEOUT)
        self.opened.append(conn)
        self.names["conn"], self.names["addr"] = conn, addr


def _steps(td: _Td) -> list[tuple[str, str, str, Callable[[], object]]]:
    """(python line, the C call, what it does, the line run) in the TD's order."""
    def data() -> bytes:
        d = td.names["data"]
        assert isinstance(d, bytes)
        return d

    def keep(name: str, fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            td.names[name] = fn()
            return td.names[name]
        return run

    return [
        ("srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
         "int srv = socket(PF_INET, SOCK_STREAM, 0);",
         N_("the server's socket: connected mode, TCP chosen by the stack"),
         lambda: td.new("srv", socket.SOCK_STREAM)),
        ('srv.bind(("127.0.0.1", 0))',
         "bind(srv, (struct sockaddr *)&addr, sizeof addr);",
         N_("a known address; port 0: the kernel picks a free one"),
         lambda: td.sock("srv").bind(("127.0.0.1", 0))),
        ("srv.listen(5)", "listen(srv, 5);",
         N_("the socket now accepts connections"),
         lambda: td.sock("srv").listen(5)),
        ("cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
         "int cli = socket(PF_INET, SOCK_STREAM, 0);",
         N_("the client's socket"),
         lambda: td.new("cli", socket.SOCK_STREAM)),
        ("cli.connect(srv.getsockname())",
         "connect(cli, (struct sockaddr *)&addr, sizeof addr);",
         N_("the three-way handshake; the client gets a temporary port"),
         lambda: td.sock("cli").connect(td.sock("srv").getsockname())),
        ("conn, addr = srv.accept()",
         "int conn = accept(srv, (struct sockaddr *)&peer, &len);",
         N_("a new socket for this client; srv keeps listening"),
         td.accept),
        ('cli.send(b"Bonjour, TD 3")', 'send(cli, "Bonjour, TD 3", 13, 0);',
         N_("13 bytes into the client's send buffer"),
         lambda: td.sock("cli").send(b"Bonjour, TD 3")),
        ("data = conn.recv(1024)", "ssize_t n = recv(conn, buf, sizeof buf, 0);",
         N_("what the receive buffer holds, up to 1024 bytes"),
         keep("data", lambda: td.sock("conn").recv(1024))),
        ("conn.send(data.upper())", "send(conn, buf, n, 0);",
         N_("the server answers"),
         lambda: td.sock("conn").send(data().upper())),
        ("cli.recv(1024)", "recv(cli, buf, sizeof buf, 0);",
         N_("the client reads the answer"),
         keep("answer", lambda: td.sock("cli").recv(1024))),
        ("cli.close()", "close(cli);", N_("FIN: the end of the client's data"),
         lambda: td.sock("cli").close()),
        ("conn.recv(1024)", "recv(conn, buf, sizeof buf, 0);",
         N_("0 bytes: the peer has closed"),
         keep("eof", lambda: td.sock("conn").recv(1024))),
        ("conn.close(); srv.close()", "close(conn); close(srv);",
         N_("the server's two sockets"),
         lambda: _close(td, "conn", "srv")),
        ("u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
         "int u = socket(PF_INET, SOCK_DGRAM, 0);",
         N_("datagram mode (UDP): no connection"),
         lambda: td.new("u", socket.SOCK_DGRAM)),
        ('u.sendto(b"ping", addr)', "sendto(u, \"ping\", 4, 0, &peer, len);",
         N_("one datagram to the client's old port: nobody listens there any more"),
         lambda: td.sock("u").sendto(b"ping", _addr(td))),
        ("u.close()", "close(u);", N_("the datagram socket"),
         lambda: td.sock("u").close()),
    ]


def _close(td: _Td, *names: str) -> None:
    for name in names:
        td.sock(name).close()


def _addr(td: _Td) -> tuple[str, int]:
    addr = td.names["addr"]
    assert isinstance(addr, tuple)
    return addr[0], addr[1]


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The course's code, as printed in it (sections 3 and 3.1, figure 4):"))
    t.lines(COURSE_CODE, data={"course_code": COURSE_CODE})
    t.say(_("The TD puts these pieces together: a server and a client that exchange one "
            "message, then a datagram. Below, each Python line of the TD, the C call it "
            "stands for, and the system calls it really made. The only change: the sockets "
            "come from socklab.socket, a socket.socket with the same methods whose calls "
            "are shown."))
    td = _Td()
    t.role(_("server"))
    try:
        for python, c, what, run in _steps(td):
            if python.startswith("cli = "):
                t.role(_("client"))
            elif python.startswith("conn, "):
                t.role(_("accepted"))
            elif python.startswith("u = "):
                t.role(_("datagram"))
            t.lines([f"python: {python}", f"C:      {c}", f"        # {_(what)}"],
                    data={"python": python, "c": c}, joined=True)
            with t.traced():
                run()
    finally:
        with t.traced():
            for s in td.opened:
                s.close()
    answer = td.names.get("answer")
    t.fact(_("the client read"), repr(answer))
    t.fact(_("the server's last recv"), repr(td.names.get("eof")), _("end of stream"))
    t.next_steps("python3 -c 'import socket; help(socket.socket.accept)'",
                 "socklab --trace connect tcp:127.0.0.1:8000")
