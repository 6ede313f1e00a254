"""Which sockets to list: one filter model, two evaluators.

A :class:`Query` says which kinds (netids), address families, states, ports,
addresses and owners are wanted. :meth:`Query.state_mask` is what the kernel
filters itself (sock_diag's ``idiag_states``/``udiag_states`` bitmask; the
kind and family pick the request); :meth:`Query.matches` checks everything in
Python, so both sources (sock_diag and /proc) give the same answer.

State selection follows ss: without ``-a``/``-l``/``--state`` only connected
sockets are listed (no LISTEN, UNCONN, TIME-WAIT or SYN-RECV); ``-l`` lists
LISTEN and UNCONN; ``-a`` everything. ``--state`` takes TCP state names
(``established``, ``time-wait``, ...) and ss's groups: ``connected``,
``synchronized``, ``bucket``, ``big``, ``all``.
"""

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from socklab.errors import BadInput
from socklab.socktable.model import SocketRecord

if TYPE_CHECKING:
    import ipaddress

    Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["ALL_NETIDS", "Query", "build_query", "parse_port_range", "parse_states"]

INET_NETIDS = frozenset({"tcp", "udp", "raw"})
UNIX_NETIDS = frozenset({"u_str", "u_dgr", "u_seq"})
PACKET_NETIDS = frozenset({"p_raw", "p_dgr"})
ALL_NETIDS = INET_NETIDS | UNIX_NETIDS | PACKET_NETIDS | {"nl"}

# TCP state numbers (include/net/tcp_states.h)
ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE = 1, 2, 3, 4, 5, 6, 7
CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV = 8, 9, 10, 11, 12

ALL_STATES = frozenset(range(1, 13))
STATE_WORDS = {
    "established": {ESTABLISHED}, "syn-sent": {SYN_SENT}, "syn-recv": {SYN_RECV, NEW_SYN_RECV},
    "fin-wait-1": {FIN_WAIT1}, "fin-wait-2": {FIN_WAIT2}, "time-wait": {TIME_WAIT},
    "closed": {CLOSE}, "close-wait": {CLOSE_WAIT}, "last-ack": {LAST_ACK},
    "listening": {LISTEN}, "listen": {LISTEN}, "closing": {CLOSING},
    "unconn": {CLOSE}, "estab": {ESTABLISHED},
}
_CONNECTED = ALL_STATES - {LISTEN, CLOSE}
STATE_GROUPS = {
    "all": ALL_STATES,
    "connected": _CONNECTED,
    "synchronized": _CONNECTED - {SYN_SENT},
    "bucket": {SYN_RECV, NEW_SYN_RECV, TIME_WAIT},
    "big": ALL_STATES - {SYN_RECV, NEW_SYN_RECV, TIME_WAIT},
}
# ss's default: SS_CONN, connected minus the bucket states
DEFAULT_STATES = frozenset(_CONNECTED - {TIME_WAIT, SYN_RECV, NEW_SYN_RECV})
LISTENING_STATES = frozenset({LISTEN, CLOSE})

# ss state names (model.TCP_STATES values) -> numbers, for matching records
_NAME_TO_NUMBERS: dict[str, frozenset[int]] = {
    "ESTAB": frozenset({ESTABLISHED}), "SYN-SENT": frozenset({SYN_SENT}),
    "SYN-RECV": frozenset({SYN_RECV, NEW_SYN_RECV}), "FIN-WAIT-1": frozenset({FIN_WAIT1}),
    "FIN-WAIT-2": frozenset({FIN_WAIT2}), "TIME-WAIT": frozenset({TIME_WAIT}),
    "UNCONN": frozenset({CLOSE}), "CLOSE-WAIT": frozenset({CLOSE_WAIT}),
    "LAST-ACK": frozenset({LAST_ACK}), "LISTEN": frozenset({LISTEN}),
    "CLOSING": frozenset({CLOSING}),
}


def parse_states(words: list[str]) -> frozenset[int]:
    """TCP state numbers for ``--state`` words; BadInput names an unknown word."""
    out: set[int] = set()
    for word in words:
        key = word.lower().replace("_", "-")
        if key in STATE_GROUPS:
            out |= STATE_GROUPS[key]
        elif key in STATE_WORDS:
            out |= STATE_WORDS[key]
        else:
            known = ", ".join([*STATE_GROUPS, *STATE_WORDS])
            raise BadInput(f"unknown socket state {word!r} (states: {known})")
    return frozenset(out)


def parse_port_range(text: str) -> tuple[int, int]:
    """``80`` -> (80, 80); ``1024-2048`` -> (1024, 2048); ``:80`` as ss writes it."""
    t = text.strip().lstrip(":")
    lo_text, sep, hi_text = t.partition("-")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if sep else lo
    except ValueError:
        raise BadInput(f"bad port or port range {text!r} (expected N or N-M)") from None
    if not (0 <= lo <= hi <= 65535):
        raise BadInput(f"bad port range {text!r} (ports are 0-65535, low-high)")
    return lo, hi


@lru_cache(maxsize=4096)
def _ip(text: str) -> "ipaddress.IPv4Address | ipaddress.IPv6Address | None":
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in(net: "Network", text: str) -> bool:
    ip = _ip(text)
    if ip is None:
        return False
    if ip.version != net.version:
        # an IPv4-mapped IPv6 address (::ffff:a.b.c.d) belongs to the IPv4 network
        mapped = getattr(ip, "ipv4_mapped", None)
        return mapped is not None and mapped in net
    return ip in net


class Query(NamedTuple):
    """What to list. ``states`` None means ss's default (connected sockets)."""

    netids: frozenset[str] = ALL_NETIDS
    families: frozenset[str] = frozenset({"inet", "inet6"})
    states: frozenset[int] | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    src: "Network | None" = None  # quoted: ipaddress is imported only when used
    dst: "Network | None" = None
    pids: frozenset[int] | None = None
    process: str | None = None

    @property
    def wanted_states(self) -> frozenset[int]:
        return DEFAULT_STATES if self.states is None else self.states

    def state_mask(self) -> int:
        mask = 0
        for s in self.wanted_states:
            mask |= 1 << s
        return mask

    @property
    def has_address_filters(self) -> bool:
        """Port or address filters, which sock_diag requests here do not apply."""
        return (self.sport is not None or self.dport is not None or self.src is not None
                or self.dst is not None)

    @property
    def needs_owners(self) -> bool:
        return self.pids is not None or self.process is not None

    def matches(self, r: SocketRecord) -> bool:
        """Everything but the owner filters (see :meth:`matches_owner`)."""
        if r.netid not in self.netids:
            return False
        is_inet = r.family in ("inet", "inet6")
        if is_inet and r.family not in self.families:
            return False
        states = _NAME_TO_NUMBERS.get(r.state)
        if states is not None and not states & self.wanted_states:
            return False
        if self.sport is not None and not (
                r.local_port is not None and self.sport[0] <= r.local_port <= self.sport[1]):
            return False
        if self.dport is not None and not (
                r.peer_port is not None and self.dport[0] <= r.peer_port <= self.dport[1]):
            return False
        if self.src is not None and not (is_inet and _in(self.src, r.local_address)):
            return False
        return self.dst is None or (is_inet and _in(self.dst, r.peer_address))

    def matches_owner(self, r: SocketRecord) -> bool:
        if not self.needs_owners:
            return True
        procs = r.processes or ()
        if self.pids is not None and not any(p.pid in self.pids for p in procs):
            return False
        return self.process is None or any(p.name == self.process for p in procs)


KIND_WORDS = {
    "tcp": {"tcp"}, "udp": {"udp"}, "raw": {"raw"}, "inet": INET_NETIDS,
    "unix": set(UNIX_NETIDS), "unix_stream": {"u_str"}, "unix_dgram": {"u_dgr"},
    "unix_seqpacket": {"u_seq"}, "packet": set(PACKET_NETIDS), "packet_raw": {"p_raw"},
    "packet_dgram": {"p_dgr"}, "netlink": {"nl"}, "all": set(ALL_NETIDS),
    **{n: {n} for n in ALL_NETIDS},
}


def build_query(kinds: list[str] | tuple[str, ...] | None = None, *, ipv4: bool = False,
                ipv6: bool = False, listening: bool = False, all_states: bool = False,
                states: list[str] | tuple[str, ...] | None = None,
                sport: str | int | None = None, dport: str | int | None = None,
                src: str | None = None, dst: str | None = None,
                pids: list[int] | tuple[int, ...] | None = None,
                process: str | None = None) -> Query:
    """A :class:`Query` from ss-like words; BadInput names the first bad one.

    ``kinds``: tcp, udp, raw, unix, packet, netlink (or ss netids: u_str ...);
    none means every kind. ``ipv4``/``ipv6`` restrict the IP kinds (and, alone,
    select only them, as ``ss -4``). ``listening``/``all_states``/``states`` as
    ``ss -l``/``-a``/``state``.
    """
    netids: set[str] = set()
    for word in kinds or ():
        if word not in KIND_WORDS:
            raise BadInput(f"unknown socket kind {word!r} (kinds: tcp, udp, raw, unix, "
                           "unix_stream, unix_dgram, unix_seqpacket, packet, netlink)")
        netids |= KIND_WORDS[word]
    if not netids:
        netids = set(INET_NETIDS) if (ipv4 or ipv6) else set(ALL_NETIDS)
    families = frozenset({"inet", "inet6"})
    if ipv4 != ipv6:
        families = frozenset({"inet"} if ipv4 else {"inet6"})
    state_set: frozenset[int] | None = None
    if states:
        state_set = parse_states(list(states))
    elif all_states:
        state_set = ALL_STATES
    elif listening:
        state_set = LISTENING_STATES
    return Query(
        netids=frozenset(netids), families=families, states=state_set,
        sport=parse_port_range(str(sport)) if sport is not None else None,
        dport=parse_port_range(str(dport)) if dport is not None else None,
        src=_network(src, "--src") if src is not None else None,
        dst=_network(dst, "--dst") if dst is not None else None,
        pids=frozenset(pids) if pids else None, process=process,
    )


def _network(text: str, what: str) -> "Network":
    import ipaddress

    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        raise BadInput(f"{what}: bad address or CIDR {text!r}") from None
