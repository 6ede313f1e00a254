"""Parsers of the classic tools' outputs, one per format, written from each tool's
documented layout (and its printf formats in the sources named below), used on the
real tool's output and on socklab's style alike: two outputs are compared record by
record, field by field.

- ``ifconfig -a``: net-tools lib/interface.c ``ife_print_long``
- ``route -n``: net-tools lib/inet_gr.c ``rprint_fib``
- ``route -6 -n``: net-tools lib/inet6_gr.c ``rprint_fib6``
- ``arp -an`` / ``arp -a``: net-tools arp.c ``arp_disp``
- ``sysctl -a``: procps sysctl(8), ``key = value``, one line per line of value
- ``ss -an``, ``ss -tuanp``: iproute2 misc/ss.c (``sock_state_print``,
  ``sock_addr_print``, ``unix_show``, ``packet_show_line``, ``proc_ctx_print``)
- ``netstat -tuan``, ``netstat -tuanp``: net-tools netstat.c (``tcp_do_one``,
  ``udp_do_one``, ``finish_this_one``, ``prg_cache_get``)
"""

from __future__ import annotations

import re
from typing import Any

# -- ifconfig -a ------------------------------------------------------------------

_HEAD = re.compile(r"^(?P<name>\S+): flags=(?P<flags>-?\d+)(?:<(?P<names>[A-Z,]*)>?)?"
                   r"  mtu (?P<mtu>\d+)$")
_INET = re.compile(r"^        inet (?P<addr>\S+)  netmask (?P<mask>\S+)"
                   r"(?:  broadcast (?P<brd>\S+))?(?:  destination (?P<dst>\S+))?$")
_INET6 = re.compile(r"^        inet6 (?P<addr>\S+)  prefixlen (?P<plen>\d+)"
                    r"  scopeid (?P<scope>0x[0-9a-f]+)<(?P<words>[a-z,]*)>$")
_HW = re.compile(r"^        (?P<word>[a-z0-9]+)(?: (?P<addr>\S*))?"
                 r"(?:  txqueuelen (?P<qlen>\d+))?  \((?P<title>[^)]+)\)$")
_PACKETS = re.compile(r"^        (?P<dir>RX|TX) packets (?P<packets>\d+)  bytes (?P<bytes>\d+)"
                      r" \((?P<human>\d+\.\d [KMGTPE]?i?B)\)$")
_RX_ERR = re.compile(r"^        RX errors (?P<errors>\d+)  dropped (?P<dropped>\d+)"
                     r"  overruns (?P<overruns>\d+)  frame (?P<frame>\d+)$")
# net-tools 2.10 prints "dropped %lu overruns" with one space
_TX_ERR = re.compile(r"^        TX errors (?P<errors>\d+)  dropped (?P<dropped>\d+) {1,2}"
                     r"overruns (?P<overruns>\d+)  carrier (?P<carrier>\d+)"
                     r"  collisions (?P<collisions>\d+)$")


def parse_ifconfig(text: str) -> list[dict[str, Any]]:
    """Blocks separated by a blank line: the header, then one line per fact. Every
    line must match one of the documented shapes (an unknown line fails)."""
    blocks: list[dict[str, Any]] = []
    block: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line.strip():
            block = None
            continue
        if block is None:
            m = _HEAD.match(line)
            assert m, f"not an ifconfig header: {line!r}"
            block = {"name": m["name"], "flags": int(m["flags"]),
                     "flag_names": m["names"], "mtu": int(m["mtu"]), "inet": None,
                     "inet6": [], "hw": None, "counters": {}, "human": {}}
            blocks.append(block)
            continue
        if m := _INET.match(line):
            assert block["inet"] is None, line
            block["inet"] = (m["addr"], m["mask"], m["brd"], m["dst"])
        elif m := _INET6.match(line):
            block["inet6"].append((m["addr"], int(m["plen"]), m["scope"], m["words"]))
        elif m := _PACKETS.match(line):
            d = m["dir"].lower()
            block["counters"][f"{d}_packets"] = int(m["packets"])
            block["counters"][f"{d}_bytes"] = int(m["bytes"])
            block["human"][d] = m["human"]
        elif m := _RX_ERR.match(line):
            block["counters"].update({f"rx_{k}": int(v) for k, v in m.groupdict().items()})
        elif m := _TX_ERR.match(line):
            block["counters"].update({f"tx_{k}": int(v) for k, v in m.groupdict().items()})
        elif m := _HW.match(line):
            block["hw"] = (m["word"], m["addr"] or "", m["qlen"], m["title"])
        else:
            raise AssertionError(f"not an ifconfig line: {line!r}")
    return blocks


# -- route -n, route -6 -n --------------------------------------------------------

ROUTE_HEADER = ["Kernel IP routing table",
                "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"]
ROUTE6_HEADER = ["Kernel IPv6 routing table",
                 "Destination                    Next Hop                   Flag Met Ref  Use If"]


def parse_route_n(text: str) -> list[tuple[str, ...]]:
    """``route -n``: two header lines, then Destination Gateway Genmask Flags Metric
    Ref Use Iface (a reject route prints ``-`` for Gateway, Ref and Iface)."""
    lines = text.splitlines()
    assert lines[:2] == ROUTE_HEADER, lines[:2]
    rows = []
    for line in lines[2:]:
        fields = tuple(line.split())
        assert len(fields) == 8, line
        rows.append(fields)
    return rows


def parse_route6_n(text: str) -> list[dict[str, Any]]:
    """``route -6 -n``: two header lines, then Destination Next-Hop Flag Met Ref Use If."""
    lines = text.splitlines()
    assert lines[:2] == ROUTE6_HEADER, lines[:2]
    rows = []
    for line in lines[2:]:
        f = line.split()
        assert len(f) == 7, line
        rows.append({"dst": f[0], "via": f[1], "flags": f[2], "metric": int(f[3]),
                     "ref": int(f[4]), "use": int(f[5]), "dev": f[6]})
    return rows


# -- arp -an ----------------------------------------------------------------------

_ARP = re.compile(r"^(?P<name>\S+) \((?P<ip>[0-9.]+)\) at (?P<hw>\S+)(?: \[(?P<type>\S+)\])?"
                  r"(?: netmask (?P<mask>\S+))?(?P<flags>(?: (?:PERM|PUB|AUTO|DONTPUB|TRAIL))*)"
                  r" on (?P<dev>\S+)$")


def parse_arp(text: str) -> list[tuple[str, str, str, str | None, tuple[str, ...], str]]:
    """``arp -an``: ``NAME (IP) at HW [TYPE] FLAGS... on DEV``, HW being a MAC,
    ``<incomplete>`` or ``<from_interface>``."""
    out = []
    for line in text.splitlines():
        m = _ARP.match(line)
        assert m, f"not an arp line: {line!r}"
        out.append((m["name"], m["ip"], m["hw"], m["type"], tuple(m["flags"].split()),
                    m["dev"]))
    return out


# -- sysctl -a --------------------------------------------------------------------

def parse_sysctl(text: str) -> list[tuple[str, str]]:
    """``key = value`` lines (a value of several lines repeats the key)."""
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        assert sep and key and " " not in key, line
        out.append((key, value))
    return out


# -- ss -an, ss -tuanp ------------------------------------------------------------

SS_COLUMNS = ["Netid", "State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer",
              "Address:Port"]
_SS_USERS = re.compile(r'^users:\((?P<list>.*)\)$')
_SS_USER = re.compile(r'\("(?P<name>[^"]*)",pid=(?P<pid>\d+),fd=(?P<fd>\d+)\)')


def parse_ss_users(text: str) -> list[tuple[str, int, int]] | None:
    """The process column: ``users:(("name",pid=N,fd=F),...)``, or None when empty."""
    if not text:
        return None
    m = _SS_USERS.match(text)
    assert m, f"not an ss process column: {text!r}"
    users = [(u["name"], int(u["pid"]), int(u["fd"])) for u in _SS_USER.finditer(m["list"])]
    assert ",".join(f'("{n}",pid={p},fd={f})' for n, p, f in users) == m["list"], text
    return users


def parse_ss(text: str) -> list[dict[str, Any]]:
    """``ss -a[n][p]``: the header (Netid State Recv-Q Send-Q Local Address:Port Peer
    Address:Port [Process]), then one line per socket. A UNIX end is two words (name
    and inode: ``/run/x 1234``, ``@name 1234``, ``* 1234``); every other end one word
    (``ADDR:PORT``, ``PROTO:IFACE`` for PACKET, ``PROTO:PORTID`` for NETLINK, ``*``)."""
    lines = text.splitlines()
    # a Peer column only as wide as its header runs into "Process" (ss 6.1)
    head = lines[0].replace("Address:PortProcess", "Address:Port Process").split()
    assert head[:8] == SS_COLUMNS and head[8:] in ([], ["Process"]), lines[0]
    rows = []
    for line in lines[1:]:
        f = line.split()
        netid, state = f[0], f[1]
        n = 2 if netid.startswith("u_") else 1
        assert len(f) >= 4 + 2 * n, line
        rows.append({"netid": netid, "state": state, "recv_q": int(f[2]), "send_q": int(f[3]),
                     "local": " ".join(f[4:4 + n]), "peer": " ".join(f[4 + n:4 + 2 * n]),
                     "users": parse_ss_users(" ".join(f[4 + 2 * n:]))})
    return rows


# -- netstat -tuan, netstat -tuanp ------------------------------------------------

NETSTAT_TITLES = ("Active Internet connections (servers and established)",
                  "Active Internet connections (only servers)",
                  "Active Internet connections (w/o servers)")


def parse_netstat(text: str) -> list[dict[str, Any]]:
    """``netstat -tuan[p]``: a title line, the header ``Proto Recv-Q Send-Q Local
    Address Foreign Address State [PID/Program name]``, then ``%-5s %6ld %6ld %-23s
    %-23s %-12s`` and with -p ``PID/NAME`` (``-`` for another user's socket). The
    state of an unconnected UDP socket is empty: State and PID are read at their
    header's columns."""
    lines = text.splitlines()
    assert lines[0] in NETSTAT_TITLES, lines[0]
    head = lines[1]
    assert head.split()[:9] == ["Proto", "Recv-Q", "Send-Q", "Local", "Address", "Foreign",
                                "Address", "State", *(["PID/Program"] if "PID" in head
                                                      else [])][:9], head
    at_state = head.index("State")
    at_pid = head.index("PID/Program name") if "PID/Program name" in head else None
    rows = []
    for line in lines[2:]:
        f = line[:at_state].split()
        assert len(f) == 5, line
        state = line[at_state:at_pid].strip()
        owner = line[at_pid:].strip() if at_pid is not None else None
        pid, program = None, None
        if owner and owner != "-":
            pid_text, _, program = owner.partition("/")
            pid = int(pid_text)
        rows.append({"proto": f[0], "recv_q": int(f[1]), "send_q": int(f[2]), "local": f[3],
                     "foreign": f[4], "state": state, "pid": pid, "program": program,
                     "owner": owner})
    return rows
