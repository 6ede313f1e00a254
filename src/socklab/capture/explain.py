"""Run the course's call sequences on loopback and record what the kernel did.

``explain(kind, ...)`` makes the sockets of the sequence (through the traced
factory of :mod:`socklab.kernel.sock`, so each call is a trace event), captures
the loopback's packets with the sniffer (:mod:`socklab.capture.sniffer`) and
reads the TCP sockets' states through sock_diag (:func:`socklab.sockets`)
after each call; :mod:`socklab.capture.sequence` merges them.

Rules:

1. The sequence runs in one thread, calls in the course's order; on loopback a
   blocking ``connect`` completes the handshake before it returns, so
   ``accept`` takes a connection already queued (and does not block).
2. In a new network namespace (its own ``lo``, gone at the end) when the
   caller may make one (CAP_SYS_ADMIN); else, or with ``host=True``, on this
   machine's loopback, 127.0.0.1. Traffic never leaves loopback.
3. Without CAP_NET_RAW there are no packets: a note in the network column
   says why, and the calls and the states are still shown.
4. Every wait is bounded: receives have a timeout of one second.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import socket as _socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from socklab.capture.decode import TCP, Packet
from socklab.capture.sequence import Column, Event, TcpTracker, merge, packet_event
from socklab.errors import BadInput, MissingPrivilege, SocklabError
from socklab.kernel import sock
from socklab.trace import TraceEvent, tracing

__all__ = ["KINDS", "Explained", "LoopbackCapture", "Variant", "explain"]

KINDS = ("tcp", "udp", "unix", "ping")
Variant = Literal["normal", "server-closes-first", "closed-port", "full-queue"]
T = TypeVar("T")
HOST = "127.0.0.1"
WAIT = 1.0  # rule 4


@dataclass(slots=True)
class Explained:
    """A finished run: its title, where it ran, and the merged events."""

    kind: str
    variant: str
    where: str
    events: list[Event]
    packets_note: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "variant": self.variant, "where": self.where,
                "packets": self.packets_note or "captured",
                "events": [e.as_dict() for e in self.events]}


@dataclass(slots=True)
class _Run:
    """The recorder: calls (with their sockets' roles), state reads, notes."""

    events: list[Event] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)
    # the trace events of the call in progress, per thread (a call's events are
    # emitted in the thread that makes it; --full-queue accepts in a second thread)
    _local: threading.local = field(default_factory=threading.local)

    def sink(self, event: TraceEvent) -> None:
        seen: list[TraceEvent] | None = getattr(self._local, "seen", None)
        if seen is not None:
            seen.append(event)

    def note(self, column: Column, text: str) -> None:
        self.events.append(Event(time.time(), column, "note", text))

    def call(self, column: Column, fn: Callable[[], T], new_role: str | None = None,
             blocking: bool = False) -> T:
        """Run one socket call and record it (its trace events) at the time it began."""
        seen: list[TraceEvent] = []
        start = time.time()
        self._local.seen = seen
        try:
            return fn()
        finally:
            self._local.seen = None
            for e in seen:
                self._record(column, e, start, new_role, blocking)

    def _record(self, column: Column, e: TraceEvent, start: float, new_role: str | None,
                blocking: bool) -> None:
        role = self.roles.get(e.fd) if e.fd is not None else None
        parts = ([f"{role} fd {e.fd}" if role else f"fd {e.fd}"] if e.fd is not None else [])
        head = f"{e.call}({', '.join(parts + list(e.args))})"
        name = _errno.errorcode.get(e.errno) if e.errno is not None else None
        if e.errno is not None:
            result = f"-1 {name} ({e.message})"
        elif e.result is None:
            result = f"-1 ({e.message})"
        else:
            result = e.result
        if new_role and e.result and e.result.startswith("fd "):
            fd = int(e.result[3:].split()[0])
            self.roles[fd] = new_role
            result += f": the {new_role}"
        if blocking:
            self.events.append(Event(start, column, "call", head, role=role))
            self.events.append(Event(e.time or start, column, "return",
                                     f"{e.call} = {result}", role=role, errno=name))
        else:
            self.events.append(Event(start, column, "call", f"{head} = {result}", role=role,
                                     errno=name))


class _States:
    """TCP states read through sock_diag after each call (rule 2 of sequence)."""

    def __init__(self, run: _Run, server_port: int) -> None:
        self.run = run
        self.port = server_port
        self.clients: dict[int, tuple[str, str]] = {}  # port -> (client, accepted) roles
        self.last: dict[str, str] = {}
        self.failed: str | None = None

    def read(self) -> None:
        if self.failed is not None:
            return
        from socklab.capture.sequence import SS_STATES
        from socklab.socktable.table import sockets

        now: dict[str, str] = {}
        try:
            # sock_diag, not /proc: /proc/net shows the main thread's namespace; only
            # the server port's sockets, filtered in the kernel (inet_diag bytecode): on a
            # machine holding tens of thousands of TCP sockets a full dump takes ~0.1 s
            records = [*sockets("tcp", all_states=True, source="diag", sport=self.port),
                       *sockets("tcp", all_states=True, source="diag", dport=self.port)]
        except SocklabError as exc:
            self.failed = str(exc)
            self.run.note("network", f"states not readable: {exc}")
            return
        stamp = time.time()
        for r in records:
            role = None
            if r.local_port == self.port and r.state == "LISTEN":
                role = "listening socket"
            elif r.local_port == self.port and r.peer_port in self.clients:
                role = self.clients[r.peer_port][1]
            elif r.local_port in self.clients and r.peer_port == self.port:
                role = self.clients[r.local_port][0]
            if role is not None:
                now[role] = SS_STATES.get(r.state, r.state)
        for role in list(self.last):  # gone from the table: freed by the kernel
            now.setdefault(role, "CLOSED")
        for role, state in now.items():
            if self.last.get(role) != state:
                column: Column = "client" if role.startswith("client") else "server"
                self.run.events.append(Event(stamp, column, "state", f"{role}: {state}",
                                             role=role, label=state, source="sock_diag"))
        self.last = {r: s for r, s in now.items() if s != "CLOSED"}


class LoopbackCapture:
    """The loopback's packets, captured in a thread while a sequence runs (also used by
    the tour's TCP and UDP sections). Raises MissingPrivilege without CAP_NET_RAW."""

    def __init__(self, filter: str) -> None:
        from socklab.capture.sniffer import sniff

        self.packets: list[Packet] = []
        self.error: BaseException | None = None
        self._done = threading.Event()
        self.capture = sniff("lo", filter=filter, stop=self._done.is_set, timeout=30.0)
        self._thread = threading.Thread(target=self._collect, name="explain-sniffer")
        self._thread.start()

    def _collect(self) -> None:
        try:
            for p in self.capture:
                self.packets.append(p)
        except BaseException as exc:  # handed to the caller's thread by stop()
            self.error = exc

    def stop(self) -> list[Packet]:
        self._done.set()
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.packets


def _free_port(kind: int) -> int:
    """A port nobody is bound to right now (bound to 0, read, closed)."""
    s = sock.socket(_socket.AF_INET, kind)
    try:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port
    finally:
        s.close()


def _start_capture(run: _Run, filter: str) -> LoopbackCapture | str:
    try:
        return LoopbackCapture(filter)
    except MissingPrivilege as exc:
        why = (f"no packets shown: capturing them needs {exc.capability} (a packet socket: "
               "run as root); the calls and the states are still read")
        run.note("network", why)
        return why


def _packets(run: _Run, sniffer: LoopbackCapture | str, client_ports: set[int],
             trackers: Sequence[TcpTracker] = ()) -> str | None:
    if isinstance(sniffer, str):
        return sniffer
    time.sleep(0.05)  # the last ACKs of a close
    isn: dict[tuple[int, int], int] = {}
    for p in sniffer.stop():
        e = packet_event(p, client_ports, isn)
        if e is None:
            continue
        run.events.append(e)
        if isinstance(p.transport, TCP):
            for tracker in trackers:
                run.events.extend(tracker.feed(p.timestamp, p.transport))
    return None


def _tcp(run: _Run, variant: Variant) -> str | None:
    if variant == "closed-port":
        return _tcp_closed(run)
    if variant == "full-queue":
        return _tcp_full_queue(run)
    port = _free_port(_socket.SOCK_STREAM)
    states = _States(run, port)
    sniffer = _start_capture(run, f"tcp port {port}")
    with tracing(run.sink):
        listener = run.call("server", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_STREAM),
                            "listening socket")
        try:
            run.call("server", lambda: listener.bind((HOST, port)))
            run.call("server", lambda: listener.listen(8))
            states.read()
            client = run.call("client",
                              lambda: sock.socket(_socket.AF_INET, _socket.SOCK_STREAM),
                              "client socket")
            client.settimeout(WAIT)
            run.call("client", lambda: client.connect((HOST, port)), blocking=True)
            cport: int = client.getsockname()[1]
            states.clients[cport] = ("client socket", "accepted socket")
            states.read()
            accepted, _ = run.call("server", listener.accept, "accepted socket", blocking=True)
            accepted.settimeout(WAIT)
            states.read()
            run.call("client", lambda: client.send(b"hello\n"))
            run.call("server", lambda: accepted.recv(100), blocking=True)
            run.call("server", lambda: accepted.send(b"HELLO\n"))
            run.call("client", lambda: client.recv(100), blocking=True)
            states.read()
            first, second = ((accepted, client) if variant == "server-closes-first"
                             else (client, accepted))
            first_col: Column = "server" if first is accepted else "client"
            second_col: Column = "client" if first is accepted else "server"
            run.call(first_col, first.close)
            states.read()
            run.call(second_col, lambda: second.recv(100), blocking=True)
            run.call(second_col, second.close)
            states.read()
        finally:
            run.call("server", listener.close)
        states.read()
    return _packets(run, sniffer, {cport}, [TcpTracker(cport, port)])


def _tcp_full_queue(run: _Run) -> str | None:
    """listen(0): the accept queue holds one connection (Linux counts it full when it
    holds more than the backlog, sk_acceptq_is_full); the second client's SYN is
    dropped until accept() makes room, then its retransmission (one second later,
    RFC 6298's initial RTO) is answered."""
    port = _free_port(_socket.SOCK_STREAM)
    states = _States(run, port)
    sniffer = _start_capture(run, f"tcp port {port}")
    opened: list[_socket.socket] = []
    helper: threading.Thread | None = None
    with tracing(run.sink):
        listener = run.call("server", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_STREAM),
                            "listening socket")
        try:
            run.call("server", lambda: listener.bind((HOST, port)))
            run.call("server", lambda: listener.listen(0))
            states.read()
            ports: list[int] = []
            for n in (1, 2):
                client = run.call("client",
                                  lambda: sock.socket(_socket.AF_INET, _socket.SOCK_STREAM),
                                  f"client socket {n}")
                opened.append(client)
                client.settimeout(3 * WAIT)
                # the port before connect: sock_diag tells the sockets apart by it
                client.bind((HOST, 0))
                ports.append(client.getsockname()[1])
                states.clients[ports[-1]] = (f"client socket {n}", f"accepted socket {n}")
            first, second = opened
            run.call("client", lambda: first.connect((HOST, port)), blocking=True)
            states.read()
            run.note("server", "the accept queue is full: listen(0) holds one connection")

            def make_room() -> None:
                time.sleep(0.3)  # the second SYN is sent and dropped meanwhile
                states.read()
                accepted, _ = run.call("server", listener.accept, "accepted socket 1",
                                       blocking=True)
                opened.append(accepted)

            helper = threading.Thread(target=make_room, name="explain-accept")
            helper.start()
            run.call("client", lambda: second.connect((HOST, port)), blocking=True)
            helper.join()
            helper = None
            states.read()
            accepted2, _ = run.call("server", listener.accept, "accepted socket 2",
                                    blocking=True)
            opened.append(accepted2)
            for s in opened:
                run.call("client" if s in (first, second) else "server", s.close)
            states.read()
        finally:
            if helper is not None:
                helper.join()
            for s in opened:
                s.close()
            run.call("server", listener.close)
        states.read()
    trackers = [TcpTracker(p, port, server_role=f"accepted socket {n}",
                           client_role=f"client socket {n}")
                for n, p in enumerate(ports, 1)]
    return _packets(run, sniffer, set(ports), trackers)


def _tcp_closed(run: _Run) -> str | None:
    port = _free_port(_socket.SOCK_STREAM)
    run.note("server", f"no socket on port {port}: the kernel answers for it")
    sniffer = _start_capture(run, f"tcp port {port}")
    with tracing(run.sink):
        client = run.call("client", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_STREAM),
                          "client socket")
        client.settimeout(WAIT)
        try:
            run.call("client", lambda: client.connect((HOST, port)), blocking=True)
        except OSError as exc:
            if exc.errno != _errno.ECONNREFUSED:
                raise
        # the port the SYN came from: the tracker's client end
        run.call("client", client.close)
    tracker = None
    if not isinstance(sniffer, str):
        time.sleep(0.05)
        packets = sniffer.stop()
        syn = next((p.transport for p in packets if isinstance(p.transport, TCP)
                    and p.transport.dst_port == port), None)
        cport = syn.src_port if isinstance(syn, TCP) else 0
        tracker = TcpTracker(cport, port, server_role=None)
        isn: dict[tuple[int, int], int] = {}
        for p in packets:
            e = packet_event(p, {cport}, isn)
            if e is not None:
                run.events.append(e)
            if isinstance(p.transport, TCP):
                run.events.extend(tracker.feed(p.timestamp, p.transport))
        return None
    return sniffer


def _udp(run: _Run, variant: Variant) -> str | None:
    if variant == "closed-port":
        return _udp_closed(run)
    port = _free_port(_socket.SOCK_DGRAM)
    sniffer = _start_capture(run, f"udp port {port}")
    with tracing(run.sink):
        server = run.call("server", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_DGRAM),
                          "server socket")
        client = run.call("client", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_DGRAM),
                          "client socket")
        server.settimeout(WAIT)
        client.settimeout(WAIT)
        try:
            run.call("server", lambda: server.bind((HOST, port)))
            run.call("client", lambda: client.sendto(b"hello\n", (HOST, port)))
            _, peer = run.call("server", lambda: server.recvfrom(100), blocking=True)
            run.call("server", lambda: server.sendto(b"HELLO\n", peer))
            run.call("client", lambda: client.recvfrom(100), blocking=True)
            cport = client.getsockname()[1]
        finally:
            run.call("client", client.close)
            run.call("server", server.close)
    return _packets(run, sniffer, {cport})


def _udp_closed(run: _Run) -> str | None:
    port = _free_port(_socket.SOCK_DGRAM)
    run.note("server", f"no socket on port {port}: the kernel answers with ICMP")
    sniffer = _start_capture(run, f"udp port {port} or icmp")
    ports: set[int] = set()
    with tracing(run.sink):
        plain = run.call("client", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_DGRAM),
                         "unconnected socket")
        pseudo = run.call("client", lambda: sock.socket(_socket.AF_INET, _socket.SOCK_DGRAM),
                          "connected socket")
        try:
            run.call("client", lambda: plain.sendto(b"hello\n", (HOST, port)))
            ports.add(plain.getsockname()[1])
            # nothing comes: the kernel tells an unconnected socket no ICMP error
            with contextlib.suppress(BlockingIOError):
                run.call("client", lambda: plain.recv(100, _socket.MSG_DONTWAIT))
            run.call("client", lambda: pseudo.connect((HOST, port)))
            ports.add(pseudo.getsockname()[1])
            run.call("client", lambda: pseudo.send(b"hello\n"))
            pseudo.settimeout(WAIT)
            try:  # the pseudo-connected socket gets the ICMP error as ECONNREFUSED
                run.call("client", lambda: pseudo.recv(100), blocking=True)
            except OSError as exc:
                if exc.errno != _errno.ECONNREFUSED:
                    raise
        finally:
            run.call("client", plain.close)
            run.call("client", pseudo.close)
    return _packets(run, sniffer, ports)


def _unix(run: _Run, variant: Variant) -> str | None:
    if variant != "normal":
        raise BadInput(f"--{variant}: only for tcp (and --closed-port for udp)")
    import os

    name = f"\0socklab-explain-{os.getpid()}-{threading.get_ident()}"
    run.note("network", "no packets: a UNIX socket's bytes go from one socket's buffer "
             "to the other's inside the kernel")
    with tracing(run.sink):
        listener = run.call("server", lambda: sock.socket(_socket.AF_UNIX, _socket.SOCK_STREAM),
                            "listening socket")
        try:
            run.call("server", lambda: listener.bind(name))
            run.call("server", lambda: listener.listen(8))
            client = run.call("client",
                              lambda: sock.socket(_socket.AF_UNIX, _socket.SOCK_STREAM),
                              "client socket")
            client.settimeout(WAIT)
            run.call("client", lambda: client.connect(name), blocking=True)
            accepted, _ = run.call("server", listener.accept, "accepted socket", blocking=True)
            accepted.settimeout(WAIT)
            run.call("client", lambda: client.send(b"hello\n"))
            run.call("server", lambda: accepted.recv(100), blocking=True)
            run.call("client", client.close)
            run.call("server", lambda: accepted.recv(100), blocking=True)
            run.call("server", accepted.close)
        finally:
            run.call("server", listener.close)
    return None


def _ping(run: _Run, variant: Variant) -> str | None:
    if variant != "normal":
        raise BadInput(f"--{variant}: only for tcp (and --closed-port for udp)")
    from socklab.probe import icmp, icmpsock

    run.note("server", "no server process: the IP layer of the host answers the echo request")
    sniffer = _start_capture(run, "icmp")
    with tracing(run.sink):
        s, kind, why = run.call("client", lambda: icmpsock.open_icmp_socket(False), "ICMP socket")
        run.note("client", why)
        s.settimeout(WAIT)
        try:
            request = icmp.build_echo(0x5A5A, 1, b"socklab")
            run.call("client", lambda: s.sendto(request, (HOST, 0)))
            for _ in range(3):  # a raw socket also reads the request it sent, looped back
                data, _peer = run.call("client", lambda: s.recvfrom(1500), blocking=True)
                offset = (data[0] & 0x0F) * 4 if kind == "raw" and data else 0
                if data[offset:offset + 1] == bytes([icmp.ECHO_REPLY]):
                    break
        finally:
            run.call("client", s.close)
    return _packets(run, sniffer, set())


_RUNNERS: dict[str, Callable[[_Run, Variant], str | None]] = {
    "tcp": _tcp, "udp": _udp, "unix": _unix, "ping": _ping}


def _bring_lo_up() -> None:
    from socklab.stack import change

    change.link_set("lo", up=True)


def explain(kind: str, variant: Variant = "normal", *, host: bool = False) -> Explained:
    """Run sequence ``kind`` (tcp, udp, unix, ping) and return its merged events.

    ``variant``: ``server-closes-first`` (tcp), ``closed-port`` (tcp: RST and
    ECONNREFUSED; udp: ICMP port unreachable), ``full-queue`` (tcp: listen(0) and
    two clients). Raises BadInput (kind, variant); MissingPrivilege for ping
    without an ICMP socket (CAP_NET_RAW, or a group in ping_group_range).
    """
    if kind not in _RUNNERS:
        raise BadInput(f"{kind!r}: expected one of {', '.join(KINDS)}")
    if variant == "server-closes-first" and kind != "tcp":
        raise BadInput("--server-closes-first: only for tcp")
    if variant == "closed-port" and kind not in ("tcp", "udp"):
        raise BadInput("--closed-port: only for tcp and udp")
    if variant == "full-queue" and kind != "tcp":
        raise BadInput("--full-queue: only for tcp")
    runner = _RUNNERS[kind]

    def go(where: str) -> Explained:
        run = _Run()
        note = runner(run, variant)
        return Explained(kind, variant, where, merge(run.events), note)

    if not host:
        from socklab.kernel import scratch

        def inside() -> Explained:
            _bring_lo_up()
            return go("a new network namespace (its own lo, 127.0.0.1)")

        try:
            return scratch.run_in_new(inside)
        except MissingPrivilege:
            return go("this machine's loopback, 127.0.0.1 (no CAP_SYS_ADMIN to make a "
                      "namespace)")
    return go("this machine's loopback, 127.0.0.1")

