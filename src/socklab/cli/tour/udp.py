"""Tour section: datagram mode (course 2.1.2): UDP, then the pseudo-connected mode.

Two datagrams sent back to back arrive as two messages (boundaries kept,
unlike a stream), each with its sender's address (recvfrom). Then the
receiver connect()s to one sender: the kernel delivers nothing from anyone
else, and send() needs no address any more.
"""

from __future__ import annotations

import socket

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli.tour import Tour
from socklab.trace import format_address

TIMEOUT = 2.0


def section(t: Tour) -> None:
    _ = t._
    t.say(_("A datagram socket (SOCK_DGRAM, UDP) has no connection: the receiver binds an "
            "address, senders send to it with sendto(), and each recvfrom() returns one whole "
            "message and who sent it."))
    t.role(_("receiver"), _("sender a"), _("sender b"))
    with t.traced():
        rx = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for s in (rx, a, b):
            s.settimeout(TIMEOUT)
        with t.traced():
            rx.bind(("127.0.0.1", 0))
            where = rx.getsockname()
            a.sendto(b"first", where)
            a.sendto(b"second", where)
            m1, s1 = rx.recvfrom(100)
            m2, s2 = rx.recvfrom(100)
        t.fact(_("two sendto() calls gave two messages"), f"{m1!r}, {m2!r}",
               _("boundaries kept: a stream would have given b'firstsecond' or any split"))
        t.fact(_("sender of each"), f"{format_address(s1)}, {format_address(s2)}",
               _("the kernel bound the sender to an ephemeral port at its first sendto()"))
        t.say(_("Pseudo-connected mode: connect() on a datagram socket sends nothing; it only "
                "records a peer. From then on the kernel drops datagrams from anyone else, and "
                "send()/recv() work without an address."))
        with t.traced():
            rx.connect(s1)
            b.sendto(b"from another sender", where)
            a.sendto(b"from the peer", where)
            got = rx.recv(100)
            rx.send(b"reply")
            back = a.recv(100)
        t.fact(_("received after connect()"), repr(got),
               _("the other sender's datagram was never delivered"))
        t.fact(_("the peer got the reply sent without an address"), repr(back))
    finally:
        with t.traced():
            for s in (rx, a, b):
                s.close()
    t.next_steps("socklab listen udp:127.0.0.1:9000 --connect-first-peer",
                 "socklab --trace connect udp:127.0.0.1:9000   " + _("(in a second terminal)"))
