"""Tour section: datagram mode (course 2.1.2): UDP, then the pseudo-connected mode.

Two datagrams sent back to back arrive as two messages (boundaries kept,
unlike a stream), each with its sender's address (recvfrom). Then the
receiver connect()s to one sender: the kernel delivers nothing from anyone
else, and send() needs no address any more.

Beside the calls (:mod:`socklab.cli.tour.wire`): the sockets' states as ss
shows them (UNCONN, then ESTAB for the pseudo-connected receiver) and, with
CAP_NET_RAW, the datagrams on lo and the ICMP port unreachable the kernel
sends back to the sender the connected receiver refuses.
"""

from __future__ import annotations

import socket

import socklab as ksock  # socklab.socket, socklab.socketpair: the traced sockets
from socklab.cli.tour import Tour
from socklab.cli.tour.wire import Wire, queued
from socklab.trace import format_address

TIMEOUT = 2.0
DATAGRAMS = (b"first", b"second")


def section(t: Tour) -> None:
    _ = t._
    t.say(_("A datagram socket (SOCK_DGRAM, UDP) has no connection: the receiver binds an "
            "address, senders send to it with sendto(), and each recvfrom() returns one whole "
            "message and who sent it."))
    wire = Wire(t, "udp")
    receiver, sender_a, sender_b = _("receiver"), _("sender a"), _("sender b")
    t.role(receiver, sender_a, sender_b)
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
        wire.name(receiver, where[1], side="server")
        wire.start_capture(where[1])
        wire.states()
        with t.traced():
            for datagram in DATAGRAMS:
                a.sendto(datagram, where)
        waiting = queued(rx)
        t.fact(_("FIONREAD on the receiver"), waiting,
               _("the size of the next datagram only: a datagram is read whole"))
        with t.traced():
            m1, s1 = rx.recvfrom(100)
            m2, s2 = rx.recvfrom(100)
        wire.name(sender_a, s1[1])
        t.fact(_("two sendto() calls gave two messages"), f"{m1!r}, {m2!r}",
               _("boundaries kept: a stream would have given b'firstsecond' or any split"))
        t.fact(_("sender of each"), f"{format_address(s1)}, {format_address(s2)}",
               _("the kernel bound the sender to an ephemeral port at its first sendto()"))
        t.figure("buffers", {"mode": "datagram", "writes": [len(d) for d in DATAGRAMS],
                             "queued": waiting, "reads": [len(m1), len(m2)]})
        t.say(_("Pseudo-connected mode: connect() on a datagram socket sends nothing; it only "
                "records a peer. From then on the kernel drops datagrams from anyone else, and "
                "send()/recv() work without an address."))
        with t.traced():
            rx.connect(s1)
        wire.states()
        with t.traced():
            b.sendto(b"from another sender", where)
        wire.name(sender_b, b.getsockname()[1])
        with t.traced():
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
        wire.states()
        wire.finish()
    if wire.saw("ICMP port unreachable"):
        t.say(_("No socket took the other sender's datagram, so the kernel answered it with "
                "ICMP port unreachable, as for a closed port. The sender is not told: an "
                "unconnected UDP socket ignores ICMP errors (udp(7)); a connected one would "
                "get ECONNREFUSED at its next call (socklab explain udp --closed-port)."))
    t.next_steps("socklab listen udp:127.0.0.1:9000 --connect-first-peer",
                 "socklab --trace connect udp:127.0.0.1:9000   " + _("(in a second terminal)"))
