"""The course's call sequences as events: calls, packets and TCP states, in time order.

Pure: no I/O. :mod:`socklab.capture.explain` runs a sequence and hands its
observations here; this module names the packets, follows each TCP endpoint
through the state machine of RFC 9293 (section 3.3.2, figure 5), merges
everything in time order and draws it in three columns: client process,
kernel/network, server process.

Rules:

1. Every event has a time (seconds since the epoch, as the trace events and the
   capture's timestamps) and a column; ties keep the order they were added in.
2. A state has a source: ``sock_diag`` (read from the kernel after a call) or
   ``packets`` (the RFC 9293 transition the packet just seen causes, for the
   changes quicker than any read, such as SYN-SENT on loopback). A state equal
   to the role's previous one is not shown again.
3. :func:`valid_transitions` checks a state sequence against figure 5 (plus the
   aborts of section 3.10.7.4: RST takes any state to CLOSED).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from socklab.capture.decode import ICMP, TCP, UDP, ICMPv6, IPv4, IPv6, Packet

__all__ = ["ALLOWED", "Event", "TcpTracker", "draw", "merge", "packet_event",
           "svg", "tcp_flags", "valid_transitions"]

Column = Literal["client", "network", "server"]
Kind = Literal["call", "return", "packet", "state", "note"]

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# ss's names (socklab.socktable.model.TCP_STATES) -> the names the course uses
SS_STATES = {"ESTAB": "ESTABLISHED", "UNCONN": "CLOSED", "CLOSE": "CLOSED"}

# RFC 9293 figure 5, one entry per arrow; the aborts (RST, section 3.10.7.4) are added below
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("CLOSED", "LISTEN"), ("CLOSED", "SYN-SENT"),
    ("LISTEN", "SYN-RECV"), ("LISTEN", "SYN-SENT"), ("LISTEN", "CLOSED"),
    ("SYN-SENT", "SYN-RECV"), ("SYN-SENT", "ESTABLISHED"), ("SYN-SENT", "CLOSED"),
    ("SYN-RECV", "ESTABLISHED"), ("SYN-RECV", "FIN-WAIT-1"), ("SYN-RECV", "LISTEN"),
    ("ESTABLISHED", "FIN-WAIT-1"), ("ESTABLISHED", "CLOSE-WAIT"),
    ("FIN-WAIT-1", "FIN-WAIT-2"), ("FIN-WAIT-1", "CLOSING"), ("FIN-WAIT-1", "TIME-WAIT"),
    ("FIN-WAIT-2", "TIME-WAIT"), ("CLOSING", "TIME-WAIT"),
    ("CLOSE-WAIT", "LAST-ACK"), ("LAST-ACK", "CLOSED"), ("TIME-WAIT", "CLOSED"),
} | {(s, "CLOSED") for s in ("SYN-RECV", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                              "CLOSE-WAIT", "CLOSING", "LAST-ACK")})


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the diagram. ``role`` names the socket (listening socket, client
    socket, accepted socket) of a call or state; ``label`` is the packet's short
    name (SYN, SYN-ACK, ACK, PSH-ACK, FIN-ACK, RST-ACK, UDP, ICMP port
    unreachable...) or the state's name; ``direction`` of a packet is ``->``
    (client to server) or ``<-``."""

    time: float
    column: Column
    kind: Kind
    text: str
    role: str | None = None
    label: str | None = None
    source: str | None = None
    direction: str | None = None
    errno: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"time": round(self.time, 6), "column": self.column, "kind": self.kind,
                "text": self.text, "role": self.role, "label": self.label,
                "source": self.source, "direction": self.direction, "errno": self.errno}


def tcp_flags(flags: int) -> str:
    """SYN, SYN-ACK, ACK, PSH-ACK, FIN-ACK, RST, RST-ACK...: the flags people name."""
    names = [n for bit, n in ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"))
             if flags & bit]
    if flags & ACK:
        names.append("ACK")
    return "-".join(names) or "none"


_ICMP_NAMES = {(0, None): "echo reply", (8, None): "echo request",
               (3, 3): "port unreachable", (3, 1): "host unreachable",
               (3, 0): "net unreachable", (3, 2): "protocol unreachable",
               (11, None): "time exceeded"}


def _icmp_name(kind: int, code: int) -> str:
    return _ICMP_NAMES.get((kind, code)) or _ICMP_NAMES.get((kind, None)) \
        or f"type {kind} code {code}"


def _ports(src: int, dst: int, way: str) -> str:
    return f"{src} -> {dst}" if way == "->" else f"{dst} <- {src}"


def packet_event(p: Packet, client_ports: Iterable[int] = (),
                 isn: dict[tuple[int, int], int] | None = None) -> Event | None:
    """The network column's event for a captured packet (None for what is not IP).

    ``client_ports``: the client's ports, to tell ``->`` from ``<-``. ``isn``: the
    initial sequence number of each direction (source port, destination port),
    filled from the SYNs seen, so that seq and ack
    are shown relative to it (as tcpdump does); None shows them absolute."""
    clients = set(client_ports)
    net, tr = p.network, p.transport
    if not isinstance(net, IPv4 | IPv6) or tr is None:
        return None
    if isinstance(tr, TCP):
        label = tcp_flags(tr.flags)
        way = "->" if tr.src_port in clients else "<-"
        seq, ack = tr.seq, tr.ack
        if isn is not None:
            if tr.flags & SYN:
                isn[tr.src_port, tr.dst_port] = tr.seq
            seq = (seq - isn.get((tr.src_port, tr.dst_port), 0)) & 0xFFFFFFFF
            ack = (ack - isn.get((tr.dst_port, tr.src_port), 0)) & 0xFFFFFFFF
        data = f" {tr.payload_length} bytes" if tr.payload_length else ""
        text = (f"{label}{data}  {_ports(tr.src_port, tr.dst_port, way)}  "
                f"seq {seq}" + (f" ack {ack}" if tr.flags & ACK else ""))
        return Event(p.timestamp, "network", "packet", text, label=label, direction=way)
    if isinstance(tr, UDP):
        way = "->" if tr.src_port in clients else "<-"
        size = max(tr.length - 8, 0)
        return Event(p.timestamp, "network", "packet",
                     f"UDP {size} bytes  {_ports(tr.src_port, tr.dst_port, way)}",
                     label="UDP", direction=way)
    if isinstance(tr, ICMP | ICMPv6):
        name = _icmp_name(tr.type, tr.code) if isinstance(tr, ICMP) else f"ICMPv6 {tr.type}"
        way = "<-" if tr.type in (0, 3, 11) else "->"
        extra = ""
        if tr.quoted is not None and tr.quoted.dst_port is not None:
            extra = f" (about port {tr.quoted.dst_port})"
        elif tr.seq is not None:
            extra = f" seq {tr.seq}"
        return Event(p.timestamp, "network", "packet", f"ICMP {name}{extra}",
                     label=f"ICMP {name}", direction=way)
    return None


@dataclass(slots=True)
class _Endpoint:
    role: str
    state: str
    fin_end: int | None = None  # the sequence number that acknowledges our FIN


@dataclass(slots=True)
class TcpTracker:
    """Follows both ends of one TCP connection through RFC 9293 figure 5, packet by
    packet (rule 2). On loopback each packet is seen once, sent by one end and
    received by the other at the same time."""

    client_port: int
    server_port: int
    server_role: str | None = "accepted socket"  # None: no socket on the server's port
    client_role: str = "client socket"
    ends: dict[int, _Endpoint] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ends = {self.client_port: _Endpoint(self.client_role, "CLOSED")}
        if self.server_role is not None:
            # born from the listening socket: its first state is the listener's (figure 5)
            self.ends[self.server_port] = _Endpoint(self.server_role, "LISTEN")

    def feed(self, time: float, tcp: TCP) -> list[Event]:
        """The state events this packet causes (sender's change first)."""
        if {tcp.src_port, tcp.dst_port} != {self.client_port, self.server_port}:
            return []  # another connection to the same server port
        sender, receiver = self.ends.get(tcp.src_port), self.ends.get(tcp.dst_port)
        out: list[Event] = []
        changes = ([(sender, self._sent(sender, tcp))] if sender is not None else []) + \
            ([(receiver, self._received(receiver, tcp))] if receiver is not None else [])
        for end, path in changes:
            for new in path:  # each step of figure 5 on its own, none skipped
                if new == end.state:
                    continue
                end.state = new
                column: Column = "client" if end is self.ends[self.client_port] else "server"
                out.append(Event(time, column, "state", f"{end.role}: {new}", role=end.role,
                                 label=new, source="packets"))
        return out

    @staticmethod
    def _sent(end: _Endpoint, t: TCP) -> list[str]:
        """The states of the end that sent ``t``."""
        s = end.state
        if t.flags & RST:
            return ["LISTEN" if s == "LISTEN" else "CLOSED"]
        if t.flags & SYN and not t.flags & ACK and s == "CLOSED":
            return ["SYN-SENT"]
        if t.flags & SYN and t.flags & ACK and s == "LISTEN":
            # figure 5's "rcv SYN, snd SYN,ACK": the answer shows the SYN was taken (a
            # listener whose accept queue is full drops it, and sends nothing)
            return ["SYN-RECV"]
        if t.flags & FIN and s in ("ESTABLISHED", "CLOSE-WAIT", "SYN-RECV"):
            end.fin_end = (t.seq + t.payload_length + 1) & 0xFFFFFFFF
            return ["LAST-ACK" if s == "CLOSE-WAIT" else "FIN-WAIT-1"]
        return []

    @staticmethod
    def _received(end: _Endpoint, t: TCP) -> list[str]:
        """The states of the end that received ``t`` (figure 5's "rcv" arrows)."""
        s = end.state
        if t.flags & RST:
            # a listener ignores a reset; a connection being opened from LISTEN goes back
            return [] if s == "LISTEN" else ["CLOSED"]
        if s == "LISTEN":
            return []  # a SYN taken is told by the SYN-ACK sent (see _sent)
        if s == "SYN-SENT":
            if t.flags & SYN:
                return ["ESTABLISHED"] if t.flags & ACK else ["SYN-RECV"]
            return []
        path: list[str] = []
        if s == "SYN-RECV" and t.flags & ACK:
            s = "ESTABLISHED"
            path.append(s)
        acked = bool(t.flags & ACK) and end.fin_end is not None and t.ack == end.fin_end
        if acked and s in ("FIN-WAIT-1", "CLOSING", "LAST-ACK"):
            s = {"FIN-WAIT-1": "FIN-WAIT-2", "CLOSING": "TIME-WAIT", "LAST-ACK": "CLOSED"}[s]
            path.append(s)
        if t.flags & FIN and s in ("ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"):
            path.append({"ESTABLISHED": "CLOSE-WAIT", "FIN-WAIT-1": "CLOSING",
                         "FIN-WAIT-2": "TIME-WAIT"}[s])
        return path


def merge(events: Iterable[Event]) -> list[Event]:
    """Sort by time (rule 1) and drop each state equal to its role's previous one (rule 2)."""
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].time, pair[0]))
    last: dict[str, str] = {}
    out: list[Event] = []
    for _, e in ordered:
        if e.kind == "state" and e.role is not None and e.label is not None:
            if last.get(e.role) == e.label:
                continue
            last[e.role] = e.label
        out.append(e)
    return out


def states_of(events: Iterable[Event], role: str) -> list[str]:
    """The state sequence of one socket, as the diagram shows it."""
    return [e.label for e in events if e.kind == "state" and e.role == role and e.label]


def valid_transitions(states: Sequence[str], start: str = "CLOSED") -> list[tuple[str, str]]:
    """The transitions of ``states`` (after ``start``) that figure 5 does not allow (rule 3)."""
    bad: list[tuple[str, str]] = []
    previous = start
    for s in states:
        if s != previous and (previous, s) not in ALLOWED:
            bad.append((previous, s))
        previous = s
    return bad


# -- drawing ------------------------------------------------------------------

_HEADINGS = ("client process", "kernel / network", "server process")
_ORDER: dict[Column, int] = {"client": 0, "network": 1, "server": 2}


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _cell(e: Event) -> str:
    if e.kind == "state":
        return f"[{e.text}]" + (" (sock_diag)" if e.source == "sock_diag" else "")
    if e.kind == "packet":
        return f"{e.direction} {e.text}"
    if e.kind == "return":
        return f"  ...{e.text}"
    return e.text


def draw(events: Sequence[Event], width: int = 100,
         headings: tuple[str, str, str] = _HEADINGS) -> str:
    """The diagram as text: one row per event, in its column (rule 1); ``headings``
    name the three columns (the tour gives them in its language)."""
    col = max((width - 4) // 3, 20)
    rows = ["  ".join(h.ljust(col) for h in headings).rstrip(),
            "  ".join("-" * col for _ in headings)]
    start = events[0].time if events else 0.0
    for e in events:
        lines = _wrap(_cell(e), col)
        for i, line in enumerate(lines):
            cells = ["", "", ""]
            cells[_ORDER[e.column]] = line
            stamp = f"{(e.time - start) * 1000:8.3f} ms " if i == 0 else " " * 12
            rows.append(stamp + "  ".join(c.ljust(col) for c in cells).rstrip())
    rows[0] = " " * 12 + rows[0]
    rows[1] = " " * 12 + rows[1]
    return "\n".join(rows) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(events: Sequence[Event], title: str = "") -> str:
    """The diagram as an SVG picture: the two processes' lifelines at the sides, the
    packets as arrows between them, the calls and states beside their lifeline."""
    step, top, width = 22, 60, 960
    xs = {"client": 330, "server": 630}
    height = top + step * (len(events) + 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width // 2}" y="20" text-anchor="middle" font-size="14">'
           f'{_xml(title)}</text>']
    for i, name in enumerate(_HEADINGS):
        x = (xs["client"], width // 2, xs["server"])[i]
        out.append(f'<text x="{x}" y="44" text-anchor="middle" font-weight="bold">'
                   f'{_xml(name)}</text>')
    for x in xs.values():
        out.append(f'<line x1="{x}" y1="50" x2="{x}" y2="{height - 10}" stroke="#888"/>')
    out.append('<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" '
               'orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>')
    for i, e in enumerate(events):
        y = top + step * i
        if e.kind == "packet":
            x1, x2 = ((xs["client"], xs["server"]) if e.direction == "->"
                      else (xs["server"], xs["client"]))
            out.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y + step - 6}" stroke="blue" '
                       f'marker-end="url(#a)"/>')
            out.append(f'<text x="{width // 2}" y="{y + 4}" text-anchor="middle" '
                       f'fill="blue">{_xml(e.text)}</text>')
            continue
        colour = "darkgreen" if e.kind == "state" else "black"
        if e.column == "network":
            out.append(f'<text x="{width // 2}" y="{y + 4}" text-anchor="middle" '
                       f'fill="gray">{_xml(e.text)}</text>')
        elif e.column == "client":
            out.append(f'<text x="{xs["client"] - 6}" y="{y + 4}" text-anchor="end" '
                       f'fill="{colour}">{_xml(_cell(e))}</text>')
        else:
            out.append(f'<text x="{xs["server"] + 6}" y="{y + 4}" fill="{colour}">'
                       f'{_xml(_cell(e))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
