"""Records of the socket table, and the names ss uses for their fields.

A listing of 60,000 sockets makes 60,000 records, so :class:`SocketRecord` is
a ``typing.NamedTuple`` (built with one ``tuple.__new__``) rather than a frozen
dataclass, whose ``__init__`` costs several times more per field
(docs/design.md has the figures). Records are immutable all the same, and
``--json`` comes from :meth:`SocketRecord.as_dict`.

Addresses are kept as the strings ``inet_ntop`` gives (``127.0.0.1``,
``::1``); :func:`ipaddress.ip_address` reads them back when a filter needs it.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
from typing import Any, NamedTuple

__all__ = [
    "NETLINK_PROTOCOLS",
    "TCP_STATES",
    "Process",
    "Row",
    "SkMem",
    "SocketRecord",
    "TcpInfo",
    "Timer",
    "row_of",
]

# include/net/tcp_states.h -> the names ss prints (CLOSE is UNCONN for every kind)
TCP_STATES = {
    1: "ESTAB",
    2: "SYN-SENT",
    3: "SYN-RECV",
    4: "FIN-WAIT-1",
    5: "FIN-WAIT-2",
    6: "TIME-WAIT",
    7: "UNCONN",
    8: "CLOSE-WAIT",
    9: "LAST-ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "SYN-RECV",  # TCP_NEW_SYN_RECV: a request socket, shown as SYN-RECV by ss
    13: "BOUND-INACTIVE",
}
STATE_NUMBERS = {name: num for num, name in TCP_STATES.items() if num != 12}

# include/uapi/linux/netlink.h protocol numbers -> the names ss prints (iproute2
# lib/rt_names.c nl_proto_tab; a number it does not name, as 22 NETLINK_SMC, is
# printed as the number)
NETLINK_PROTOCOLS = {
    0: "rtnl", 1: "unused", 2: "usersock", 3: "fw", 4: "tcpdiag", 5: "nflog", 6: "xfrm",
    7: "selinux", 8: "iscsi", 9: "audit", 10: "fiblookup", 11: "connector", 12: "nft",
    13: "ip6fw", 14: "dec-rt", 15: "uevent", 16: "genl", 18: "scsi-trans",
    19: "ecryptfs", 20: "rdma", 21: "crypto",
}

NETLINK_NUMBERS = {name: str(number) for number, name in NETLINK_PROTOCOLS.items()}

TIMER_NAMES = {0: "off", 1: "on", 2: "keepalive", 3: "timewait", 4: "persist"}


class Process(NamedTuple):
    """A process holding a socket: its pid, command name and the fd number it uses."""

    pid: int
    name: str
    fd: int


class Timer(NamedTuple):
    """The socket timer ss -o/-e shows: which, when it fires (ms), retransmissions."""

    name: str
    expires_ms: int
    retrans: int


class SkMem(NamedTuple):
    """Socket memory (``SK_MEMINFO_*``), as ``ss -m`` shows it, in bytes."""

    rmem_alloc: int
    rcvbuf: int
    wmem_alloc: int
    sndbuf: int
    fwd_alloc: int
    wmem_queued: int
    optmem: int
    backlog: int
    drops: int


class TcpInfo(NamedTuple):
    """The parts of ``struct tcp_info`` ss -i shows (times in microseconds)."""

    state: int
    ca_state: int
    retransmits: int
    probes: int
    backoff: int
    options: int
    snd_wscale: int
    rcv_wscale: int
    rto: int
    ato: int
    snd_mss: int
    rcv_mss: int
    unacked: int
    sacked: int
    lost: int
    retrans: int
    last_data_sent: int
    last_data_recv: int
    last_ack_recv: int
    pmtu: int
    rcv_ssthresh: int
    rtt: int
    rttvar: int
    snd_ssthresh: int
    snd_cwnd: int
    advmss: int
    reordering: int
    rcv_rtt: int
    rcv_space: int
    total_retrans: int
    pacing_rate: int
    bytes_acked: int
    bytes_received: int
    segs_out: int
    segs_in: int
    notsent_bytes: int
    min_rtt: int
    delivery_rate: int
    bytes_sent: int
    bytes_retrans: int
    congestion: str | None = None


class SocketRecord(NamedTuple):
    """One socket, as the kernel lists it.

    ``netid`` is ss's column (tcp, udp, raw, u_str, u_dgr, u_seq, p_raw, p_dgr,
    nl); ``family`` the address family (inet, inet6, unix, packet, netlink).
    For UNIX sockets ``local_address`` is the path, ``@name`` for an abstract
    name or ``*`` when unnamed, and the ports are None. For PACKET sockets the
    address is the name of the interface the socket is bound to (its index
    if the name cannot be read, ``*`` when unbound), ``interface`` its index and
    ``protocol`` the ethertype (``0x0003``: ETH_P_ALL, every protocol); for NETLINK
    ones the port is the portid and ``protocol`` the protocol name.

    Fields the source could not see are None: the /proc fallback has no
    listen backlog, no UNIX peer or queues; ``processes`` is None unless
    owners were asked for (``-p``).

    ``v6only`` is IPV6_V6ONLY of a listening or unconnected IPv6 socket, as
    sock_diag tells it (``INET_DIAG_SKV6ONLY``); None where the kernel does not
    say (other states, IPv4, /proc). As ss, the table shows ``::`` as ``*``
    unless the socket is v6-only: a dual-stack socket bound to ``::`` takes
    IPv4 too (``*:22``), a v6-only one IPv6 alone (``[::]:22``).
    """

    netid: str
    family: str
    state: str
    recv_q: int | None
    send_q: int | None
    local_address: str
    local_port: int | None
    peer_address: str
    peer_port: int | None
    inode: int
    uid: int | None = None
    interface: int = 0
    peer_inode: int | None = None
    protocol: str | None = None
    cookie: int | None = None
    netns: str | None = None
    processes: tuple[Process, ...] | None = None
    timer: Timer | None = None
    memory: SkMem | None = None
    tcp_info: TcpInfo | None = None
    v6only: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        d = self._asdict()
        for key in ("timer", "memory", "tcp_info"):
            value = d[key]
            d[key] = value._asdict() if value is not None else None
        if self.processes is not None:
            d["processes"] = [p._asdict() for p in self.processes]
        return d

    def local(self) -> str:
        """The local end as ss prints it: ``127.0.0.1:80``, ``[::1]:80``, ``0.0.0.0:*``,
        ``/run/x.sock 1234`` (UNIX: name and inode), ``0:5678`` (NETLINK:
        protocol number and portid, as ss -n; ``rtnl:5678`` is :meth:`named_local`),
        ``[2048]:eth0`` (PACKET: ethertype in decimal, as ss -n; ``*`` for
        ETH_P_ALL or an unbound socket, ss's ``packet_show_line``)."""
        if self.family == "unix":
            return f"{self.local_address} {self.inode}"
        if self.family == "packet":
            return f"{packet_protocol_text(self.protocol)}:{self.local_address}"
        if self.family == "netlink":
            number = NETLINK_NUMBERS.get(self.local_address, self.local_address)
            return f"{number}:{self.local_port}"
        return endpoint_text(self.family, self.local_address, self.local_port, self.v6only)

    def named_local(self) -> str:
        """The local end as ss prints it without -n: a NETLINK protocol by name
        (``rtnl:5678``); the rest as :meth:`local`."""
        if self.family == "netlink":
            return f"{self.local_address}:{self.local_port}"
        return self.local()

    def peer(self) -> str:
        if self.family == "unix":
            return f"* {self.peer_inode}" if self.peer_inode is not None else "*"
        return endpoint_text(self.family, self.peer_address, self.peer_port, self.v6only)


def packet_protocol_text(protocol: str | None) -> str:
    """A PACKET socket's ethertype as ``ss -n`` prints it: ``*`` for ETH_P_ALL (3),
    else the number in decimal within brackets (``[2048]`` for IPv4)."""
    if protocol is None:
        return "*"
    try:
        number = int(protocol, 16)
    except ValueError:  # a record made by hand: shown as it is
        return protocol
    return "*" if number == 3 else f"[{number}]"


def endpoint_text(family: str, address: str, port: int | None,
                  v6only: bool | None = None) -> str:
    """One end as ss prints it (``inet_addr_print``): port 0 is ``*``; IPv6 in
    brackets, but ``::`` of a socket that is not v6-only is ``*`` (it takes IPv4
    too)."""
    if family == "inet":
        return f"{address}:{'*' if port == 0 else port}"
    if family == "inet6":
        host = "*" if address == "::" and not v6only else f"[{address}]"
        return f"{host}:{'*' if port == 0 else port}"
    if port is None:
        return address
    return f"{address}:{port}"


# The plain table's row (ss -tan): netid, state, Recv-Q, Send-Q, local end, peer end.
# A plain tuple, the cheapest object to build 60,000 of; diag.inet_row_decoder
# makes them straight from the kernel's replies, row_of from any record.
Row = tuple[str, str, int | None, int | None, str, str]


def row_of(r: SocketRecord) -> Row:
    """The table row of a record: what ``socklab sockets`` prints for it."""
    return (r.netid, r.state, r.recv_q, r.send_q, r.local(), r.peer())
