"""Which rules a packet meets, told by the kernel: ``socklab filter trace``.

Steps, all inside one network namespace (the one named, or the host's only
when asked with ``host=True``: the command changes the ruleset):

1. read the ruleset (the rules' text, and their counters before);
2. open a ``NETLINK_NETFILTER`` socket on the ``NFNLGRP_NFTRACE`` group;
3. add socklab's trace table (``inet socklab_trace_PID``) whose chains, hooked at
   prerouting and output with priority -350 (before every usual chain: the
   conntrack hooks are at -200), set ``meta nftrace set 1`` on packets of the
   flow, and nothing else (policy accept);
4. send one probe packet of the flow from this process: a TCP SYN
   (non-blocking connect), a UDP datagram, or an ICMP echo request; its
   socket is made in the namespace itself, or in another one named by
   ``probe_netns`` (a lab host: the probe then comes in from the network,
   and the namespace traced sees it in prerouting, then forward or input);
5. read the trace events of that packet (:mod:`socklab.filter.nftrace`) until
   none has come for a short while, bounded in count and time;
6. delete the trace table, also when anything above failed; read the
   counters after.

The decisive step: the first rule or policy whose verdict dropped the packet
(or queued or stole it: the walk stops there); when every hook accepted it, the
last accepting one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import time
from collections.abc import Iterator
from typing import NamedTuple

from socklab.errors import BadInput, MissingPrivilege, NetworkError, SocklabError, from_oserror
from socklab.filter.model import Ruleset
from socklab.filter.nftrace import NFNLGRP_NFTRACE, TraceEvent, decode_chunk
from socklab.kernel.netlink import NetlinkSocket

__all__ = ["Flow", "Step", "TraceResult", "filter_trace", "flow", "trace"]

PROTOCOLS = ("tcp", "udp", "icmp")
PRIORITY = -350
FIRST_EVENT_WAIT = 2.0  # seconds for the first event (the probe is sent before)
QUIET = 0.3  # seconds without an event that end the reading
MAX_WAIT = 5.0
MAX_EVENTS = 512
PAYLOAD = b"socklab filter trace\n"


class Flow(NamedTuple):
    proto: str  # tcp, udp, icmp (icmp is ICMPv6 echo for an IPv6 destination)
    dst: str
    port: int | None
    src: str | None

    @property
    def v6(self) -> bool:
        return ":" in self.dst

    def describe(self) -> str:
        where = f"[{self.dst}]" if self.v6 else self.dst
        target = f"{where}:{self.port}" if self.port else self.dst
        what = {"tcp": "TCP SYN", "udp": "UDP datagram", "icmp": "ICMP echo request"}[self.proto]
        return f"{what} to {target}" + (f" from {self.src}" if self.src else "")


class Step(NamedTuple):
    """A trace event with the rule's text as the ruleset lists it."""

    event: TraceEvent
    rule: str  # the rule's text; "" for a chain's policy

    def describe(self) -> str:
        e = self.event
        where = f"{e.family} {e.table} {e.chain}"
        if e.kind == "policy":
            return f"{where}: policy {e.verdict}"
        if e.kind == "return":
            return f"{where}: end of chain, return"
        if e.handle is None:  # the kernel's event for a chain whose rules all went by
            return f"{where}: no rule decided ({e.verdict})"
        target = f" {e.target}" if e.target else ""
        return f"{where} rule [{e.handle}] {self.rule}: {e.verdict}{target}"


class TraceResult(NamedTuple):
    flow: Flow
    sport: int | None
    steps: tuple[Step, ...]
    verdict: str  # what happened to the packet: accept, drop, ...; "" when nothing came
    decisive: Step | None
    counters: tuple[tuple[str, str, str, int, int], ...]  # family, table, chain, handle, +N
    trace_rule: str  # the nft rule that set nftrace (removed again)
    send_error: str | None  # what the sending call said (EPERM: dropped on output)
    seen: bool  # the kernel traced the probe (in socklab's own trace chains at least)


def flow(proto: str, dst: str, port: int | str | None = None,
         src: str | None = None) -> Flow:
    """Check a flow; BadInput naming the bad part."""
    if proto not in PROTOCOLS:
        raise BadInput(f"filter trace: protocol {proto!r}: one of {', '.join(PROTOCOLS)}")
    try:
        daddr = ipaddress.ip_address(dst)
        saddr = ipaddress.ip_address(src) if src else None
    except ValueError as exc:
        raise BadInput(f"filter trace: {exc} (an IPv4 or IPv6 address)") from exc
    if saddr is not None and saddr.version != daddr.version:
        raise BadInput("filter trace: source and destination are of different families")
    number = None
    if proto in ("tcp", "udp"):
        if port is None:
            raise BadInput(f"filter trace: {proto} needs a destination port")
        text = str(port)
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
            raise BadInput(f"filter trace: port {port!r}: 1 to 65535")
        number = int(text)
    elif port is not None:
        raise BadInput("filter trace: icmp has no port")
    return Flow(proto, str(daddr), number, str(saddr) if saddr else None)


def _match(f: Flow, sport: int | None) -> str:
    ip = "ip6" if f.v6 else "ip"
    parts = [f"{ip} daddr {f.dst}"]
    if f.src:
        parts.append(f"{ip} saddr {f.src}")
    if f.proto in ("tcp", "udp"):
        if sport:
            parts.append(f"{f.proto} sport {sport}")
        parts.append(f"{f.proto} dport {f.port}")
    else:
        parts.append("icmpv6 type echo-request" if f.v6 else "icmp type echo-request")
    return " ".join(parts)


def _probe_socket(f: Flow) -> socket.socket:
    """The probe's socket, bound (to the source when given) so its port is known."""
    from socklab.kernel import sock as ksock

    family = socket.AF_INET6 if f.v6 else socket.AF_INET
    try:
        if f.proto == "tcp":
            s = ksock.socket(family, socket.SOCK_STREAM)
        elif f.proto == "udp":
            s = ksock.socket(family, socket.SOCK_DGRAM)
        else:
            proto = socket.IPPROTO_ICMPV6 if f.v6 else socket.IPPROTO_ICMP
            s = ksock.socket(family, socket.SOCK_RAW, proto)
    except OSError as exc:
        raise from_oserror(exc, f"filter trace: socket for the {f.proto} probe",
                           "CAP_NET_RAW") from exc
    try:
        if f.proto != "icmp":
            s.bind((f.src or ("::" if f.v6 else "0.0.0.0"), 0))
        elif f.src:
            s.bind((f.src, 0))
    except OSError as exc:
        s.close()
        raise from_oserror(exc, f"filter trace: bind to {f.src}") from exc
    return s


def _send(s: socket.socket, f: Flow) -> str | None:
    """Send the probe; the error the sending call met, if any (a drop in the output
    hook is EPERM for the sender): the packet was traced all the same."""
    target = (f.dst, f.port or 0)
    try:
        if f.proto == "tcp":
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError, InterruptedError):
                s.connect(target)  # the SYN leaves now; its answer does not matter
        elif f.proto == "udp":
            s.sendto(PAYLOAD, target)
        else:
            from socklab.probe import icmp

            s.sendto(icmp.build_echo(os.getpid() & 0xFFFF, 1, PAYLOAD, v6=f.v6), target)
    except OSError as exc:
        return os.strerror(exc.errno) if exc.errno else str(exc)
    return None


def _counters(rs: Ruleset) -> dict[tuple[str, str, str, int], tuple[int, str]]:
    return {(t.family, t.name, c.name, r.handle): (r.packets or 0, r.text)
            for t in rs.tables for c in t.chains for r in c.rules}


def _read_events(nl: NetlinkSocket, deadline: float) -> Iterator[TraceEvent]:
    wait = FIRST_EVENT_WAIT
    count = 0
    while count < MAX_EVENTS:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            data = nl.receive(min(wait, left))
        except OSError as exc:  # ENOBUFS: events were lost
            raise from_oserror(exc, "filter trace: read trace events") from exc
        if data is None:
            return
        for event in decode_chunk(data):
            count += 1
            yield event
        wait = QUIET


def _decisive(steps: list[Step]) -> tuple[str, Step | None]:
    last_accept = None
    for step in steps:
        if step.event.decides and step.event.verdict != "accept":
            return step.event.verdict, step
        if step.event.verdict == "accept":
            last_accept = step
    return ("accept", last_accept) if last_accept is not None else ("", None)


def trace(f: Flow, netns: str | None = None, host: bool = False,
          prefer: str = "auto", probe_netns: str | None = None) -> TraceResult:
    """Send one probe of flow ``f`` and report the rules it met (module docstring).

    ``netns``: the namespace to work in; without one, BadInput unless ``host``.
    ``probe_netns``: the namespace the probe is sent from (default: ``netns``).
    MissingPrivilege (CAP_NET_ADMIN) before anything is changed."""
    from socklab.filter import read
    from socklab.kernel import netlink, nftables
    from socklab.kernel import netns as knetns

    if netns is None and not host:
        raise BadInput("filter trace adds a rule and sends a packet: run it in a network "
                       "namespace (socklab --netns NAME filter trace ...), or give --host "
                       "to do it on this host")
    with knetns.entered(netns) if netns else contextlib.nullcontext():
        before = read.ruleset(prefer=prefer)
        table = f"socklab_trace_{os.getpid()}"
        try:
            nl = netlink.NetlinkSocket(netlink.NETLINK_NETFILTER)
        except OSError as exc:
            raise from_oserror(exc, "filter trace: open a netfilter netlink socket",
                               "CAP_NET_ADMIN") from exc
        try:
            try:
                nl.join(NFNLGRP_NFTRACE)
            except OSError as exc:
                raise from_oserror(exc, "filter trace: join the nftrace group",
                                   "CAP_NET_ADMIN") from exc
            with (knetns.entered(probe_netns) if probe_netns is not None
                  else contextlib.nullcontext()):
                probe = _probe_socket(f)  # a socket stays in the namespace it was made in
            try:
                sport = probe.getsockname()[1] if f.proto != "icmp" else None
                rule = f"{_match(f, sport)} meta nftrace set 1"
                commands = [f"add table inet {table}"]
                for chain, hook in (("pre", "prerouting"), ("out", "output")):
                    commands += [f"add chain inet {table} {chain} {{ type filter hook {hook} "
                                 f"priority {PRIORITY}; policy accept; }}",
                                 f"add rule inet {table} {chain} {rule}"]
                nftables.run("; ".join(commands), prefer=prefer)
                try:
                    send_error = _send(probe, f)
                    events = list(_read_events(nl, time.monotonic() + MAX_WAIT))
                finally:
                    _remove(table, prefer)
            finally:
                probe.close()
        finally:
            nl.close()
        after = read.ruleset(prefer=prefer)
    texts = _counters(after)
    steps = [Step(e, texts.get((e.family, e.table, e.chain, e.handle or 0), (0, ""))[1])
             for e in events if e.table != table]
    verdict, decisive = _decisive(steps)
    seen = bool(events)
    if seen and not steps:
        verdict = "accept"  # traced, and no chain of any other table was on its way
    old = _counters(before)
    moved = tuple((k[0], k[1], k[2], k[3], n - old[k][0])
                  for k, (n, _t) in texts.items() if k in old and n > old[k][0])
    return TraceResult(f, sport, tuple(steps), verdict, decisive, moved, rule, send_error,
                       seen)


def _remove(table: str, prefer: str) -> None:
    """Delete the trace table; a failure here is reported, not hidden."""
    from socklab.kernel import nftables

    try:
        nftables.run(f"delete table inet {table}", prefer=prefer)
    except MissingPrivilege:
        raise
    except SocklabError as exc:
        raise NetworkError(f"filter trace: remove table inet {table}", None,
                           f"{exc}; remove it with: nft delete table inet {table}") from exc


def filter_trace(proto: str, dst: str, port: int | str | None = None, src: str | None = None,
                 netns: str | None = None, host: bool = False,
                 probe_netns: str | None = None) -> TraceResult:
    """``socklab.filter_trace("tcp", "10.0.2.10", 80, netns="sl-lab4-r1",
    probe_netns="sl-lab4-h1")``: :func:`flow` checked, then :func:`trace`."""
    return trace(flow(proto, dst, port, src), netns=netns, host=host, probe_netns=probe_netns)
