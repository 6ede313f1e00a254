"""What the kernel did under a section's calls: the packets on lo and the sockets' states.

The TCP and UDP sections name their sockets to a :class:`Wire` (by role and
port) and call :meth:`Wire.states` between their steps; at the end
:meth:`Wire.finish` shows the whole exchange in three columns (client
process, kernel / network, server process), the course's figures 6 and 7,
with the library behind ``socklab explain`` (:mod:`socklab.capture.sequence`).

Rules:

1. States are read through sock_diag (:func:`socklab.sockets`, as ``ss``)
   between the section's steps, never inside a traced block, so the reads'
   own netlink sockets are not among the section's calls. No privilege needed.
   Each read asks the kernel only for the named sockets' local ports (a port
   filter in inet_diag bytecode), whatever else the machine holds.
   TCP states get the course's names (ESTABLISHED ...); UDP keeps ss's UNCONN /
   ESTAB (ESTAB: a pseudo-connected socket).
2. Packets are captured on lo by socklab's sniffer when the process has
   CAP_NET_RAW (a packet socket); without it the section says so once and the
   states are still shown. The capture filters on the section's own ports (and
   keeps only the ICMP errors about them), so other traffic on lo stays out.
3. With the packets, each TCP end's state in the figure follows RFC 9293 figure 5
   packet by packet (:class:`~socklab.capture.sequence.TcpTracker`): also the
   short-lived states (SYN-SENT, SYN-RECV, LAST-ACK) no read between two calls
   can see. The reads stay in the text, as they were made.
4. The merged events go to ``tour --html`` as the section's ``sequence`` figure:
   each packet with the lanes (roles) of its two ends.
"""

from __future__ import annotations

import socket
from typing import Literal

from socklab.capture.sequence import SS_STATES, Column, Event, TcpTracker, draw, merge
from socklab.cli.tour import Tour
from socklab.errors import MissingPrivilege, SocklabError

Proto = Literal["tcp", "udp"]


class Wire:
    """The packets and states of one section's exchange (see the module's rules)."""

    def __init__(self, t: Tour, proto: Proto) -> None:
        self.t = t
        self.proto = proto
        self.first_step = len(t.steps())
        self.ends: dict[tuple[int, int | None], tuple[str, Column]] = {}
        self.shown: dict[str, str] = {}
        self.events: list[Event] = []
        self.capture: object | None = None
        self.why_no_packets = ""
        self.server_port = 0
        self.merged: list[Event] = []

    # -- naming ---------------------------------------------------------------
    def name(self, role: str, local: int, peer: int | None = None,
             side: Column = "client") -> None:
        """``role`` is the socket bound to ``local`` (connected to ``peer``, if given)."""
        self.ends[local, peer] = (role, side)

    def _end(self, local: int | None, peer: int | None) -> tuple[str, Column] | None:
        if local is None:
            return None
        return self.ends.get((local, peer)) or self.ends.get((local, None))

    def _side(self, role: str) -> Column:
        for name, side in self.ends.values():
            if name == role:
                return side
        return "client"

    # -- packets --------------------------------------------------------------
    def start_capture(self, server_port: int) -> None:
        """Capture the packets to and from ``server_port`` on lo (rule 2)."""
        from socklab.capture.explain import LoopbackCapture

        _ = self.t._
        self.server_port = server_port
        what = (f"tcp port {server_port}" if self.proto == "tcp"
                else f"udp port {server_port} or icmp")
        try:
            self.capture = LoopbackCapture(what)
        except MissingPrivilege as exc:
            self.why_no_packets = _(
                "No packets shown: capturing them needs {capability} (a packet socket, "
                "course 2.1.1: run as root). The states below are read through sock_diag, "
                "which needs no privilege.").format(capability=exc.capability)
            self.t.say(self.why_no_packets)

    # -- states ---------------------------------------------------------------
    def states(self) -> None:
        """Read the named sockets' states now and show those that changed (rule 1)."""
        import time

        from socklab.socktable.table import sockets

        _ = self.t._
        try:
            # one dump per local port, filtered in the kernel (inet_diag bytecode, as
            # ss sport = :P): a busy machine may hold tens of thousands of sockets
            records = [r for port in sorted({local for local, _peer in self.ends})
                       for r in sockets(self.proto, all_states=True, source="diag",
                                        sport=port)]
        except SocklabError as exc:
            self.t.fact(_("states"), _("not readable"), str(exc))
            return
        stamp = time.time()
        now: dict[str, tuple[str, Column]] = {}
        for r in records:
            end = self._end(r.local_port, r.peer_port or None)
            if end is not None:
                state = SS_STATES.get(r.state, r.state) if self.proto == "tcp" else r.state
                now[end[0]] = (state, end[1])
        for role in self.shown:
            if role not in now:  # gone from the table: freed by the kernel
                now[role] = ("CLOSED", self._side(role))
        named = [role for role, _side in self.ends.values()]  # shown in the order named
        changed = [(role, state, side) for role, (state, side)
                   in sorted(now.items(), key=lambda item: named.index(item[0]))
                   if self.shown.get(role) != state]
        for role, state, side in changed:
            self.shown[role] = state
            self.events.append(Event(stamp, side, "state", f"{role}: {state}", role=role,
                                     label=state, source="sock_diag"))
        if changed:
            self.t.fact(_("states (sock_diag)"),
                        ", ".join(f"{role} {state}" for role, state, _side in changed))

    def saw(self, label: str) -> bool:
        """Whether a packet so labelled (``ICMP port unreachable``) was captured."""
        return any(e.kind == "packet" and e.label == label for e in self.merged)

    # -- the whole exchange ---------------------------------------------------
    def finish(self) -> None:
        """Stop the capture; show and record the calls, packets and states (rules 3, 4)."""
        from socklab.capture.decode import ICMP, TCP, UDP, Packet
        from socklab.capture.explain import LoopbackCapture
        from socklab.capture.sequence import packet_event

        _ = self.t._
        packets: list[Packet] = []
        if isinstance(self.capture, LoopbackCapture):
            packets = self.capture.stop()
        ends_of: dict[int, tuple[str, str]] = {}  # a packet event's lanes (by its id)
        events: list[Event] = []
        for step in self.t.steps()[self.first_step:]:
            event = step.get("event")
            if step["kind"] != "call" or not isinstance(event, dict):
                continue
            role = str(step.get("lane") or "")
            side = self._side(role)
            stamp = event.get("time")
            events.append(Event(stamp if isinstance(stamp, float) else 0.0, side, "call",
                                str(step["text"]), role=role))
        clients = {local for (local, _p), (_r, side) in self.ends.items() if side == "client"}
        trackers = [TcpTracker(local, peer, server_role=self.ends[peer, local][0],
                               client_role=role)
                    for (local, peer), (role, side) in self.ends.items()
                    if side == "client" and peer is not None and (peer, local) in self.ends]
        # rule 3: with the packets, a tracked socket's states are the tracker's (a read
        # between two calls can see a state the packets have already left: the capture
        # sees a packet when it is sent, the receiving socket handles it a little later)
        tracked = ({t.client_role for t in trackers} | {str(t.server_role) for t in trackers}
                   if packets else set())
        events += [e for e in self.events if e.role not in tracked]
        isn: dict[tuple[int, int], int] = {}
        for p in packets:
            tr = p.transport
            if isinstance(tr, ICMP):
                q = tr.quoted
                if q is None or q.dst_port != self.server_port:
                    continue  # rule 2: only the errors about this section's port
                ends = (q.dst_port, q.src_port)
            elif isinstance(tr, TCP | UDP):
                ends = (tr.src_port, tr.dst_port)
            else:
                continue
            e = packet_event(p, clients, isn)
            if e is None:
                continue
            src, dst = (self._end(ends[0], ends[1]), self._end(ends[1], ends[0]))
            events.append(e)
            ends_of[id(e)] = (src[0] if src else "", dst[0] if dst else "")
            if isinstance(tr, TCP):
                for tracker in trackers:
                    events.extend(tracker.feed(p.timestamp, tr))
        merged = self.merged = merge(events)
        lanes = [{"from": ends_of[id(e)][0], "to": ends_of[id(e)][1]}
                 for e in merged if id(e) in ends_of]  # one per packet, in order
        self.t.say(_("The same exchange as the kernel saw it: the calls of each side, the "
                     "packets between them (captured on lo) and the sockets' states, in "
                     "time order (course figures 6 and 7; socklab explain {proto} draws "
                     "it too).").format(proto=self.proto) if packets else
                   _("The same exchange, calls and states in time order (no packets: see "
                     "above)."))
        headings = (_("client process"), _("kernel / network"), _("server process"))
        self.t.lines(draw(merged, 100, headings).rstrip("\n").split("\n"))
        self.t.figure("sequence", {
            "events": [e.as_dict() for e in merged],
            "packet_lanes": lanes,  # the n-th packet of events goes from its lane to its lane
            "packets": None if isinstance(self.capture, LoopbackCapture)
            else self.why_no_packets})



def queued(s: socket.socket, direction: Literal["in", "out"] = "in") -> int:
    """Bytes in a socket's receive buffer (``in``: ioctl FIONREAD, alias SIOCINQ; for
    UDP the size of the next datagram only) or, for TCP, its send buffer not yet
    acknowledged (``out``: SIOCOUTQ), as tcp(7) and udp(7) define them."""
    import fcntl
    import struct
    import termios

    request = termios.FIONREAD if direction == "in" else termios.TIOCOUTQ
    raw = fcntl.ioctl(s.fileno(), request, b"\0\0\0\0")
    value: int = struct.unpack("i", raw)[0]
    return value
