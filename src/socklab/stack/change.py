"""Change the stack: links, addresses, routes, rules and neighbours (``ip link set``,
``ip addr add``, ``ip route add``, ``ip rule add``, ``ip neigh add`` and their undoing).

Every function here follows the same rules:

1. Arguments are checked before anything is sent: names, numbers and ranges,
   MAC lengths, prefix lengths, families that must agree, devices and tables
   that must exist, a gateway that must be on a connected network unless
   ``onlink``. A refusal is :class:`BadInput` or :class:`NotFound` (exit 2) and
   the stack is untouched.
2. The change is one rtnetlink request per object (built by
   :mod:`socklab.stack.rtnl_requests` from the decoders' own layouts), sent
   with ``NLM_F_ACK`` and ``NETLINK_EXT_ACK``; the first refusal stops the
   rest, and EPERM on the first request means nothing changed.
3. EPERM/EACCES is :class:`MissingPrivilege` naming ``CAP_NET_ADMIN``; any
   other refusal is :class:`NetworkError` naming the operation and the object,
   with the kernel's extended ack sentence when it gave one
   (``add route 10.0.0.0/8 via 10.9.9.9: Network is unreachable (Nexthop has
   invalid gateway)``).
4. Each returns a :class:`Change`: what it does in words, the ``ip`` line and
   the classic net-tools line that do the same, and the requests. With
   ``dry_run`` nothing is sent (``sent`` is False).
5. ``netns``: the change is made in that named namespace (a netlink socket
   belongs to the namespace it was opened in).
6. Inside ``with session(netns=...)``, changes share one rtnetlink socket and
   one reading of the devices, routes and table names, read again only after
   a change that may alter them (a link, an address, a route without a
   gateway).
7. Inside ``with planning(netns=...)`` (the batch path, :mod:`socklab.stack.batch`),
   nothing is sent: each change is checked against the namespace as the
   changes planned before it leave it, as far as socklab foresees them
   (devices made, renamed and deleted, the networks addresses and device
   routes connect, addresses added). A device made in the plan gets its
   index from socklab (the request carries it, as ``ip link add ... index N``),
   so the changes after it can name it.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from functools import partial
from typing import NamedTuple, NoReturn

from socklab.errors import BadInput, MissingPrivilege, NetworkError, NotFound, SocklabError
from socklab.kernel import netlink, procfs
from socklab.kernel import netns as knetns
from socklab.kernel.scratch import run_in_new as in_new_namespace  # the tour's lab
from socklab.stack import read, rtnl
from socklab.stack import rtnl_requests as rq
from socklab.stack.model import Address, Link, Route
from socklab.stack.rtnl_requests import Nexthop, Request

__all__ = ["Change", "Hop", "addr_add", "addr_del", "addr_flush", "apply", "in_new_namespace",
           "link_add", "link_del", "link_set", "neigh_add", "neigh_del", "neigh_flush",
           "neigh_replace", "planning", "refusal", "route_add", "route_del", "route_replace",
           "rule_add", "rule_del", "session"]

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Number = int | str

CAPABILITY = "CAP_NET_ADMIN"
HINT = ("run as root, or inside a namespace you administer "
        "(socklab --netns NAME ...; see 'ip netns add')")
NEW = netlink.NLM_F_CREATE | netlink.NLM_F_EXCL
REPLACE = netlink.NLM_F_CREATE | netlink.NLM_F_REPLACE


class Change(NamedTuple):
    """What a change does (or did): in words, as ``ip`` and net-tools spell it, and the
    netlink requests. ``sent`` is False for a dry run.

    The two spellings may be given as functions that make them: a batch of 10,000
    routes then never spends the 2 us a line that writing them costs (only
    ``--explain`` reads them)."""

    operation: str  # "add route 10.0.0.0/8 via 10.9.9.9"
    ip_line: str | Callable[[], str]  # "ip route add 10.0.0.0/8 via 10.9.9.9"
    classic_line: str | Callable[[], str | None] | None  # "route add -net 10.0.0.0 ..."
    requests: tuple[Request, ...]
    tun: tuple[str, bool, int] | None = None  # (name, tap, index or 0): /dev/net/tun first
    sent: bool = False

    @property
    def ip(self) -> str:
        """The ``ip`` command line that makes the same change."""
        return self.ip_line if isinstance(self.ip_line, str) else self.ip_line()

    @property
    def classic(self) -> str | None:
        """net-tools' command line for it (ifconfig, route, arp), or None."""
        line = self.classic_line
        return line() if callable(line) else line


class Hop(NamedTuple):
    """One path of a multipath route, as given: ``nexthop via GW dev DEV weight W``."""

    via: str | None = None
    dev: str | None = None
    weight: Number = 1


# -- checking arguments --------------------------------------------------------------

def _number(value: Number, what: str, op: str, low: int = 0, high: int = 2**32 - 1) -> int:
    """An integer in ``[low, high]`` (decimal or 0x hex), else BadInput."""
    if isinstance(value, bool):
        raise BadInput(f"{op}: {what} must be a number, not {value!r}")
    if isinstance(value, int):
        n = value
    else:
        try:
            n = int(value, 0)
        except ValueError:
            raise BadInput(f"{op}: {what} {value!r} is not a number") from None
    if not low <= n <= high:
        raise BadInput(f"{op}: {what} {n} out of range ({low} to {high})")
    return n


def _ifname(name: str, op: str, what: str = "interface name") -> str:
    """A name the kernel accepts (dev_valid_name): 1 to 15 bytes, no '/', ':' or blank,
    not '.' or '..'."""
    if not name or len(name.encode(errors="surrogateescape")) > 15:
        raise BadInput(f"{op}: {what} {name!r} must be 1 to 15 bytes")
    if name in (".", "..") or any(c in "/: " or not c.isprintable() for c in name):
        raise BadInput(f"{op}: {what} {name!r} may not be '.', '..' or hold '/', ':' or "
                       f"blanks")
    return name


def _mac(text: str, op: str, length: int = 6) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` (or with '-'), exactly ``length`` octets."""
    parts = text.replace("-", ":").split(":")
    try:
        raw = bytes(int(p, 16) for p in parts if len(p) in (1, 2))
    except ValueError:
        raw = b""
    if len(raw) != len(parts) or not raw:
        raise BadInput(f"{op}: bad MAC address {text!r} (expected six hex octets, "
                       f"aa:bb:cc:dd:ee:ff)")
    if len(raw) != length:
        raise BadInput(f"{op}: MAC address {text!r} has {len(raw)} octets; this device's "
                       f"have {length}")
    return raw


class _Packed4(ipaddress.IPv4Address):
    """An IPv4Address made from, and keeping, its packed bytes (the request needs them;
    ``packed`` would make them again): half the cost of a batch line's addresses."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:  # 4 bytes from inet_pton
        self._ip = int.from_bytes(raw)
        self._raw = raw

    @property
    def packed(self) -> bytes:
        return self._raw


def _ip(text: str, op: str, what: str = "address") -> IP:
    # inet_pton first: the same dotted quads as ipaddress (no leading zeros, no
    # shorthand), 4x faster; ipaddress for the rest (IPv6, scoped, errors)
    try:
        return _Packed4(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):  # ValueError: a NUL, a surrogate (not encodable)
        pass
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise BadInput(f"{op}: bad {what} {text!r} (expected an IPv4 or IPv6 address)") from None


def _interface(text: str, op: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """``ADDR/PREFIX`` for an interface (host bits allowed), ``ADDR`` alone is /32 or /128."""
    address, _, plen = text.partition("/")
    ip = _ip(address, op)
    if plen:
        if not plen.isdigit():
            _bad_prefix(text, op)
        _number(plen, "prefix length", op, 0, ip.max_prefixlen)
    return ipaddress.ip_interface(f"{ip}/{plen or ip.max_prefixlen}")


def _bad_prefix(text: str, op: str) -> NoReturn:
    raise BadInput(f"{op}: bad prefix length in {text!r}")


def _prefix(text: str, op: str, family: int | None) -> tuple[int, IP | None, int]:
    """A route destination: ``default`` (family from the rest) or ``NET/LEN`` without host
    bits, or an address (a host route). Returns (family, network address, length)."""
    if text in ("default", "all", "any"):
        return family or socket.AF_INET, None, 0
    address, _, plen = text.partition("/")
    if family != socket.AF_INET6 and len(plen) < 3 and plen.isascii() and plen.isdigit() \
            and int(plen) <= 32:
        # the usual IPv4 NET/LEN, read without ipaddress (batches of routes: 1 us a line)
        try:
            raw = socket.inet_pton(socket.AF_INET, address)
        except (OSError, ValueError):
            raw = b""
        if raw and not int.from_bytes(raw) & ((1 << (32 - int(plen))) - 1):
            return socket.AF_INET, _Packed4(raw), int(plen)
    ip = _ip(address, op, "destination")
    length: int = ip.max_prefixlen
    if plen:
        if not plen.isdigit():
            _bad_prefix(text, op)
        length = _number(plen, "prefix length", op, 0, ip.max_prefixlen)
    host_bits = (1 << (ip.max_prefixlen - length)) - 1
    if int(ip) & host_bits:
        net = ipaddress.ip_network(f"{ip}/{length}", strict=False)
        raise BadInput(f"{op}: {text} has host bits set (did you mean {net}?)")
    fam = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    if family is not None and fam != family:
        raise BadInput(f"{op}: {text} is not of the route's family")
    return fam, ip, length


def _family_of(ip: IP) -> int:
    return socket.AF_INET if ip.version == 4 else socket.AF_INET6


def _same_family(op: str, family: int, ip: IP, what: str) -> None:
    if _family_of(ip) != family:
        want = "IPv4" if family == socket.AF_INET else "IPv6"
        raise BadInput(f"{op}: the {what} {ip} is not {want}, as the route is")


def _named(value: str | int | None, names: dict[int, str], what: str, op: str,
           high: int) -> int:
    """A number given by its name (``main``, ``static``, ``link``) or directly."""
    if value is None:
        raise BadInput(f"{op}: no {what}")
    if isinstance(value, int) or value.isdigit() or value.startswith("0x"):
        return _number(value, what, op, 0, high)
    for number, name in names.items():
        if name == value:
            return number
    known = ", ".join(sorted(set(names.values())))
    raise NotFound(f"{op}: unknown {what} {value!r} (known: {known}, or a number)")


def _table(value: str | int | None, op: str) -> int:
    if value is None:
        return 254  # main
    names = {**rtnl.TABLES, **_table_names()}
    names.pop(0, None)  # unspec is no table
    table = _named(value, names, "routing table", op, 2**32 - 1)
    if table == 0:
        raise BadInput(f"{op}: table 0 is no table (main is 254)")
    return table


def _scope(value: str | int | None, op: str, default: int) -> int:
    return default if value is None else _named(value, rtnl.SCOPES, "scope", op, 255)


def _ntop(ip: IP | None) -> bytes | None:
    return None if ip is None else ip.packed


# -- the namespace, the devices ----------------------------------------------------

def _enter(netns: str | None) -> AbstractContextManager[object]:
    return knetns.entered(netns) if netns else nullcontext()


class _Session:
    """What a :func:`session` keeps between changes: one rtnetlink socket, and the
    devices, routes and table names, read again only after a change that alters them."""

    def __init__(self, netns: str | None, planning: bool = False) -> None:
        self.netns = netns
        self.planning = planning
        self.nl: netlink.NetlinkSocket | None = None
        self.links: dict[str, Link] | None = None
        self.routes: list[Route] | None = None
        self.connected: list[tuple[Network, str | None]] | None = None
        self.tables: dict[int, str] | None = None
        # a gateway's verdict, per (gateway, device): kept while ``connected`` is
        self.reach: dict[tuple[str, str | None], bool] = {}
        # planning (rule 7): the last index given, the addresses the plan adds
        self.last_index = 0
        self.added: list[tuple[str, IP, int]] = []

    def new_index(self) -> int:
        """An index for a device the plan makes: above every index in use."""
        if self.links is None:
            self.links = _links(self.netns)
        self.last_index = max([self.last_index, *(lk.ifindex for lk in self.links.values())]
                              ) + 1
        return self.last_index

    def made(self, name: str, kind: str, index: int, mac: bool, peer: int | None = None
             ) -> None:
        """A device the plan makes, as the changes after it will find it (down; ``peer``:
        a veth's other end)."""
        links = self.links if self.links is not None else _links(self.netns)
        links[name] = Link(index, name, kind, (), 0, "DOWN", 1500,
                           "00:00:00:00:00:00" if mac else None, None, None, None, peer,
                           None, None)

    def gone(self, name: str) -> None:
        """A device the plan deletes, with the networks it connected."""
        if self.links is not None:
            self.links.pop(name, None)
        if self.connected is not None:
            self.connected = [(net, dev) for net, dev in self.connected if dev != name]
            self.reach.clear()

    def renamed(self, old: str, new: str) -> None:
        """A device the plan renames: its networks and planned addresses follow it."""
        self.added = [(new if dev == old else dev, ip, n) for dev, ip, n in self.added]
        if self.links is not None and old in self.links:
            self.links[new] = self.links.pop(old)._replace(name=new)
        if self.connected is not None:
            self.connected = [(net, new if dev == old else dev) for net, dev in self.connected]
            self.reach.clear()

    def connect(self, net: Network, dev: str | None) -> None:
        """A network the plan makes reachable on ``dev`` (an address's, a device route's)."""
        _connected_networks(self.netns).append((net, dev))
        self.reach.clear()

    def forget(self, change: Change) -> None:
        """Drop what ``change`` may have altered (rule 6)."""
        for req in change.requests:
            if req.msg_type in (rtnl.RTM_NEWROUTE, rq.RTM_DELROUTE):
                found = netlink.attrs(req.payload, rtnl.RTMSG.size, len(req.payload))
                if rtnl.RTA_GATEWAY not in found and rtnl.RTA_MULTIPATH not in found:
                    self.routes = self.connected = None  # gateways may be reachable now
            elif req.msg_type not in (rtnl.RTM_NEWNEIGH, rq.RTM_DELNEIGH, rtnl.RTM_NEWRULE,
                                      rq.RTM_DELRULE):
                self.links = self.routes = self.connected = None  # links and addresses
        if change.tun is not None:
            self.links = None
        self.reach.clear()


_SESSION: ContextVar[_Session | None] = ContextVar("socklab_change_session", default=None)


@contextmanager
def session(*, netns: str | None = None) -> Iterator[None]:
    """Many changes in one process, as ``ip -batch`` makes them (rule 6): inside the
    block, the changes of ``netns`` share one rtnetlink socket and one reading of
    the devices, routes and table names, read again only after a change that may
    alter them."""
    state = _Session(netns)
    token = _SESSION.set(state)
    try:
        yield
    finally:
        _SESSION.reset(token)
        if state.nl is not None:
            state.nl.close()


@contextmanager
def planning(*, netns: str | None = None) -> Iterator[None]:
    """Check changes without sending them, each against the namespace as the changes
    planned before it leave it (rule 7): the first step of a batch. Inside the block
    every change is a dry run, whatever its ``dry_run``."""
    state = _Session(netns, planning=True)
    token = _SESSION.set(state)
    try:
        yield
    finally:
        _SESSION.reset(token)


def _session(netns: str | None) -> _Session | None:
    state = _SESSION.get()
    return state if state is not None and state.netns == netns else None


def _plan(netns: str | None) -> _Session | None:
    """The planning session of ``netns``, when one is open (rule 7)."""
    state = _SESSION.get()
    return state if state is not None and state.planning and state.netns == netns else None


def _links(netns: str | None) -> dict[str, Link]:
    state = _session(netns)
    if state is not None and state.links is not None:
        return state.links
    found = {link.name: link for link in read.links(netns=netns, source="netlink")}
    if state is not None:
        state.links = found
    return found


def _routes(netns: str | None) -> list[Route]:
    state = _session(netns)
    if state is not None and state.routes is not None:
        return state.routes
    found = list(read.routes(netns=netns, source="netlink"))
    if state is not None:
        state.routes = found
    return found


def _table_names() -> dict[int, str]:
    state = _SESSION.get()
    if state is not None and state.tables is not None:
        return state.tables
    found = procfs.read_rt_tables()
    if state is not None:
        state.tables = found
    return found


def _dev(links: dict[str, Link], dev: str | None, op: str) -> Link:
    if dev is None:
        raise BadInput(f"{op}: name the device (dev DEV)")
    if dev not in links:
        raise NotFound(f"{op}: no such interface {dev!r}")
    return links[dev]


def _absent(links: dict[str, Link], name: str, op: str) -> None:
    _ifname(name, op)
    if name in links:
        raise BadInput(f"{op}: an interface named {name!r} exists already")


# -- sending ---------------------------------------------------------------------------

# errno -> what it means for a change, when the kernel gives no sentence of its own
_HINTS = {
    errno.EEXIST: "it exists already; 'replace' overwrites a route or a neighbour",
    errno.ESRCH: "no such entry",
    errno.ENOENT: "no such entry",
    errno.EADDRNOTAVAIL: "no such address",
    errno.ENETUNREACH: "no route to the gateway",
    errno.EOPNOTSUPP: "this kernel does not support it",
    errno.ENODEV: "no such device",
    errno.EBUSY: "the device is busy",
}


def _refused(op: str, exc: OSError) -> SocklabError:
    """The kernel's refusal as socklab's error (rule 3)."""
    code = exc.errno or errno.EIO
    if code in (errno.EPERM, errno.EACCES):
        return MissingPrivilege(op, CAPABILITY, HINT)
    ext = exc.ext_msg if isinstance(exc, netlink.NetlinkAckError) else None
    detail = os.strerror(code) if code else str(exc)
    why = ext or _HINTS.get(code)
    return NetworkError(op, code, f"{detail} ({why})" if why else detail)


def refusal(operation: str, code: int, text: str | None = None) -> SocklabError:
    """The kernel's refusal (errno ``code``, extended ack ``text``) of ``operation`` as
    socklab's error (rule 3): what a batch reports for a line the kernel refused."""
    return _refused(operation, netlink.NetlinkAckError(code, text))


def _run(change: Change, netns: str | None, dry_run: bool) -> Change:
    state = _session(netns)
    if dry_run or (state is not None and state.planning):
        return change
    if state is not None and change.tun is None:
        if state.nl is None:
            with _enter(netns):
                try:
                    state.nl = netlink.NetlinkSocket(netlink.NETLINK_ROUTE)
                except OSError as exc:
                    raise _refused(f"{change.operation}: open rtnetlink socket", exc) from exc
            state.nl.enable_ext_ack()
        try:
            for req in change.requests:
                try:
                    state.nl.transact(req.msg_type, req.payload, req.flags)
                except OSError as exc:
                    raise _refused(change.operation, exc) from exc
        finally:
            state.forget(change)
        return change._replace(sent=True)
    if state is not None:
        state.forget(change)
    with _enter(netns):
        if change.tun is not None:
            from socklab.kernel import tun

            try:
                tun.create(*change.tun)
            except OSError as exc:
                raise _refused(change.operation, exc) from exc
        try:
            nl = netlink.NetlinkSocket(netlink.NETLINK_ROUTE)
        except OSError as exc:
            raise _refused(f"{change.operation}: open rtnetlink socket", exc) from exc
        with nl:
            nl.enable_ext_ack()
            for req in change.requests:
                try:
                    nl.transact(req.msg_type, req.payload, req.flags)
                except OSError as exc:
                    raise _refused(change.operation, exc) from exc
    return change._replace(sent=True)


def apply(planned: Change, *, netns: str | None = None) -> Change:
    """Send a change planned with ``dry_run=True`` (several planned first, then sent in
    order: every argument of all of them is checked before the first is sent)."""
    if planned.sent:
        raise BadInput(f"{planned.operation}: sent already")
    if _plan(netns) is not None:
        raise BadInput(f"{planned.operation}: nothing is sent while planning")
    return _run(planned, netns, False)


# -- links -----------------------------------------------------------------------------

BRIDGE_KINDS = ("bridge", "bond", "team", "vrf")
IFF_UP = rtnl.IFF_UP


def link_set(dev: str, *, up: bool | None = None, mtu: Number | None = None,
             address: str | None = None, name: str | None = None,
             promisc: bool | None = None, txqueuelen: Number | None = None,
             master: str | None = None, nomaster: bool = False, netns: str | None = None,
             dry_run: bool = False) -> Change:
    """``ip link set DEV up|down mtu N address MAC name NEW promisc on|off txqueuelen N
    master BR|nomaster``: one request."""
    op = f"set link {dev}"
    links = _links(netns)
    link = _dev(links, dev, op)
    words: list[str] = []
    classic: list[str] = []
    flags = change = 0
    if up is not None:
        change |= IFF_UP
        flags |= IFF_UP if up else 0
        words.append("up" if up else "down")
        classic.append("up" if up else "down")
    mtu_n = None if mtu is None else _number(mtu, "mtu", op, 0, 2**31 - 1)
    if mtu_n is not None:
        words += ["mtu", str(mtu_n)]
        classic += ["mtu", str(mtu_n)]
    mac = None
    if address is not None:
        length = len(bytes.fromhex(link.address.replace(":", ""))) if link.address else 6
        mac = _mac(address, op, length)
        if mac[0] & 1:
            raise BadInput(f"{op}: {address} is a multicast MAC address (the first octet is "
                           f"odd); an interface needs a unicast one")
        words += ["address", mac.hex(":")]
        classic += ["hw", "ether", mac.hex(":")]
    if name is not None:
        _absent(links, name, op)
        words += ["name", name]
    if promisc is not None:
        change |= rq.IFF_PROMISC
        flags |= rq.IFF_PROMISC if promisc else 0
        words += ["promisc", "on" if promisc else "off"]
        classic.append("promisc" if promisc else "-promisc")
    txq = None if txqueuelen is None else _number(txqueuelen, "txqueuelen", op)
    if txq is not None:
        words += ["txqueuelen", str(txq)]
        classic += ["txqueuelen", str(txq)]
    master_index = None
    brctl = None
    if master is not None and nomaster:
        raise BadInput(f"{op}: master and nomaster together")
    if master is not None:
        br = _dev(links, master, op)
        if br.kind not in BRIDGE_KINDS:
            raise BadInput(f"{op}: master {master} is a {br.kind}, not a bridge or bond")
        if br.name == dev:
            raise BadInput(f"{op}: a device cannot be its own master")
        master_index = br.ifindex
        words += ["master", master]
        brctl = f"brctl addif {master} {dev}"
    if nomaster:
        master_index = 0
        words.append("nomaster")
        old = next((lk.name for lk in links.values() if lk.ifindex == link.master), None)
        brctl = f"brctl delif {old} {dev}" if old else None
    if not words:
        raise BadInput(f"{op}: nothing to change (up, down, mtu, address, name, promisc, "
                       f"txqueuelen, master, nomaster)")
    payload = rq.link_msg(link.ifindex, flags=flags, change=change, name=name, mtu=mtu_n,
                          address=mac, txqlen=txq, master=master_index)
    plan = _plan(netns)
    if plan is not None and name is not None:
        plan.renamed(dev, name)
    text = " ".join(words)
    classic_line = f"ifconfig {dev} {' '.join(classic)}" if classic else None
    if brctl:
        classic_line = f"{classic_line}; {brctl}" if classic_line else brctl
    return _run(Change(f"{op} {text}", f"ip link set dev {dev} {text}", classic_line,
                       (Request(rtnl.RTM_NEWLINK, 0, payload),)), netns, dry_run)


LINK_KINDS = ("veth", "bridge", "vxlan", "tun", "tap", "dummy", "vlan")


def link_add(name: str, kind: str, *, peer: str | None = None, vni: Number | None = None,
             remote: str | None = None, local: str | None = None, dev: str | None = None,
             dstport: Number | None = None, vlan_id: Number | None = None,
             mtu: Number | None = None, address: str | None = None, netns: str | None = None,
             dry_run: bool = False) -> Change:
    """``ip link add NAME type veth peer name PEER | bridge | vxlan id VNI [remote A]
    [local A] [dev D] [dstport P] | dummy | vlan link DEV id N``, and ``ip tuntap add
    NAME mode tun|tap`` (``kind`` tun or tap). The device is created down."""
    op = f"add link {name}"
    if kind not in LINK_KINDS:
        raise BadInput(f"{op}: unknown type {kind!r} ({', '.join(LINK_KINDS)})")
    links = _links(netns)
    _absent(links, name, op)
    mtu_n = None if mtu is None else _number(mtu, "mtu", op, 0, 2**31 - 1)
    mac = None if address is None else _mac(address, op)
    extra: list[str] = []
    if mtu_n is not None:
        extra += ["mtu", str(mtu_n)]
    if mac is not None:
        extra += ["address", mac.hex(":")]
    if kind in ("tun", "tap"):
        if mtu_n is not None or mac is not None:
            raise BadInput(f"{op}: set mtu and address of a {kind} afterwards (link set)")
        classic = f"tunctl -t {name}" if kind == "tap" else f"tunctl -n -t {name}"
        plan = _plan(netns)
        index = 0
        if plan is not None:
            index = plan.new_index()
            plan.made(name, kind, index, kind == "tap")
        return _run(Change(f"{op} type {kind}", f"ip tuntap add dev {name} mode {kind}",
                           classic, (), (name, kind == "tap", index)), netns, dry_run)
    data = None
    words = ["type", kind]
    link_index = None
    plan = _plan(netns)
    index = peer_index = 0
    if kind == "veth":
        if peer is None:
            raise BadInput(f"{op}: a veth needs its peer (peer name NAME)")
        _absent(links, peer, op)
        if peer == name:
            raise BadInput(f"{op}: the peer needs a name of its own")
        if plan is not None:  # the kernel takes the peer's index only with the device's;
            peer_index = plan.new_index()  # it makes the peer first (veth_newlink)
            index = plan.new_index()
            plan.made(peer, kind, peer_index, True, index)
        data = rq.veth_data(peer, peer_index)
        words += ["peer", "name", peer]
    elif kind == "vxlan":
        if vni is None:
            raise BadInput(f"{op}: a vxlan needs its id (id VNI, 0 to 16777215)")
        vni_n = _number(vni, "vxlan id", op, 0, 2**24 - 1)
        remote_ip = None if remote is None else _ip(remote, op, "remote")
        local_ip = None if local is None else _ip(local, op, "local")
        if remote_ip and local_ip and remote_ip.version != local_ip.version:
            raise BadInput(f"{op}: remote {remote_ip} and local {local_ip} are not of one "
                           f"family")
        dev_index = None if dev is None else _dev(links, dev, op).ifindex
        # 4789 is IANA's port for VXLAN (RFC 7348); the kernel's own default is 8472
        port = _number(dstport if dstport is not None else 4789, "dstport", op, 1, 65535)
        data = rq.vxlan_data(vni_n, remote=_ntop(remote_ip), local=_ntop(local_ip),
                             dev=dev_index, port=port)
        words += ["id", str(vni_n)]
        words += ["remote", str(remote_ip)] if remote_ip else []
        words += ["local", str(local_ip)] if local_ip else []
        words += ["dev", dev] if dev else []
        words += ["dstport", str(port)]
    elif kind == "vlan":
        parent = _dev(links, dev, op)
        if vlan_id is None:
            raise BadInput(f"{op}: a vlan needs its id (id N, 0 to 4095)")
        vid = _number(vlan_id, "vlan id", op, 0, 4095)
        data = rq.vlan_data(vid)
        link_index = parent.ifindex
        words = ["link", parent.name, *words, "id", str(vid)]
    if kind != "veth" and peer is not None:
        raise BadInput(f"{op}: only a veth has a peer")
    if plan is not None:
        index = index or plan.new_index()
        plan.made(name, kind, index, True, peer_index or None)
    payload = rq.link_msg(index, name=name, mtu=mtu_n, address=mac, link=link_index, kind=kind,
                          info_data=data)
    text = " ".join(words + extra)
    classic_line = {"bridge": f"brctl addbr {name}",
                    "vlan": f"vconfig add {dev} {vlan_id}"}.get(kind)
    return _run(Change(f"{op} {text}", f"ip link add {name} {text}", classic_line,
                       (Request(rtnl.RTM_NEWLINK, NEW, payload),)), netns, dry_run)


def link_del(name: str, *, netns: str | None = None, dry_run: bool = False) -> Change:
    """``ip link del NAME`` (a veth's peer goes with it)."""
    op = f"delete link {name}"
    link = _dev(_links(netns), name, op)
    plan = _plan(netns)
    if plan is not None:
        plan.gone(name)
        peer = next((lk.name for lk in _links(netns).values()  # a peer in this namespace
                     if link.kind == "veth" and link.link_netnsid is None
                     and lk.ifindex == link.link), None)
        if peer is not None:  # a veth's peer goes with it
            plan.gone(peer)
    classic = {"bridge": f"brctl delbr {name}", "tun": f"tunctl -d {name}"}.get(link.kind)
    return _run(Change(op, f"ip link del dev {name}", classic,
                       (Request(rq.RTM_DELLINK, 0, rq.link_msg(link.ifindex)),)),
                netns, dry_run)


# -- addresses -------------------------------------------------------------------------

def _addr_classic(verb: str, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface,
                  dev: str, label: str | None, brd: IP | None) -> str:
    if iface.version == 6:
        return f"ifconfig {dev} inet6 {verb} {iface.with_prefixlen}"
    name = label or dev
    if verb == "del":
        return f"ifconfig {name} down" if label and label != dev else \
            f"ifconfig {dev} 0.0.0.0"
    line = f"ifconfig {name} {iface.ip} netmask {iface.netmask}"
    return f"{line} broadcast {brd}" if brd else line


def _label(label: str | None, dev: str, iface: ipaddress.IPv4Interface
           | ipaddress.IPv6Interface, op: str) -> str | None:
    if label is None:
        return None
    _ifname(label.replace(":", "_"), op, "label")
    if iface.version == 6:
        raise BadInput(f"{op}: labels are IPv4 only (ifconfig's eth0:1 aliases)")
    if label != dev and not label.startswith(dev + ":"):
        raise BadInput(f"{op}: a label starts with the device name ({dev}:1, not {label})")
    return label


def _addresses_of(link: Link, family: str | None, netns: str | None) -> list[Address]:
    """The addresses the kernel has on ``link``, found by index: in a batch, the device
    may be one the plan made (none yet) or renamed (the kernel knows the old name)."""
    return [a for a in read.addresses(None, family, netns=netns, source="netlink")
            if a.ifindex == link.ifindex]


def addr_add(address: str, dev: str, *, label: str | None = None,
             broadcast: str | None = None, scope: str | int | None = None,
             netns: str | None = None, dry_run: bool = False) -> Change:
    """``ip addr add ADDR/LEN dev DEV [label DEV:N] [broadcast B|+] [scope S]``."""
    op = f"add address {address} dev {dev}"
    iface = _interface(address, op)
    link = _dev(_links(netns), dev, op)
    lab = _label(label, dev, iface, op)
    brd: IP | None = None
    if broadcast is not None:
        if iface.version == 6:
            raise BadInput(f"{op}: IPv6 has no broadcast address")
        brd = iface.network.broadcast_address if broadcast == "+" else \
            _ip(broadcast, op, "broadcast")
        if brd.version != 4:
            raise BadInput(f"{op}: broadcast {brd} is not IPv4")
    sc = _scope(scope, op, 0)
    family = _family_of(iface.ip)
    payload = rq.addr_msg(family, iface.network.prefixlen, link.ifindex, iface.ip.packed,
                          scope=sc, broadcast=_ntop(brd), label=lab)
    plan = _plan(netns)
    if plan is not None:
        plan.connect(iface.network, dev)
        plan.added.append((dev, iface.ip, iface.network.prefixlen))
    words = [iface.with_prefixlen]
    words += ["broadcast", str(brd)] if brd else []
    words += ["scope", rtnl.SCOPES.get(sc, str(sc))] if scope is not None else []
    words += ["dev", dev]
    words += ["label", lab] if lab else []
    text = " ".join(words)
    # the addresses a batch adds before this line: the list and its length now (no copy
    # a line: a batch of 10,000 addresses would copy 50 million entries)
    added = (plan.added, len(plan.added) - 1) if plan is not None else ([], 0)
    classic = partial(_addr_add_classic, iface, dev, link, lab, brd, netns, added)
    return _run(Change(f"add address {text}", f"ip addr add {text}", classic,
                       (Request(rtnl.RTM_NEWADDR, NEW, payload),)), netns, dry_run)


def _addr_add_classic(iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface, dev: str,
                      link: Link, label: str | None, brd: IP | None, netns: str | None,
                      added: tuple[list[tuple[str, IP, int]], int]) -> str | None:
    """``ifconfig NAME ADDR`` sets the IPv4 address labelled NAME, replacing it when
    there is one (SIOCSIFADDR, devinet_ioctl in net/ipv4/devinet.c): a second address
    is added in net-tools as an alias, the first free ``DEV:N``. Read only when
    asked (``--explain``): the device's addresses are then read once."""
    if iface.version == 6:
        return _addr_classic("add", iface, dev, label, brd)
    try:
        taken = {a.label or dev for a in _addresses_of(link, "inet", netns)
                 if ipaddress.ip_address(a.local) != iface.ip}
    except SocklabError:  # rtnetlink unreadable here: the line for a device without one
        taken = set()
    # and those a batch adds before this line (labelled as the device)
    taken |= {dev for d, ip, _n in added[0][:added[1]] if d == dev and ip != iface.ip}
    name = label or dev
    if name in taken:
        name = next(f"{dev}:{n}" for n in range(len(taken) + 1) if f"{dev}:{n}" not in taken)
        if len(name.encode()) > 15:  # IFNAMSIZ: no alias of this device can be named
            return None
    return _addr_classic("add", iface, dev, name, brd)


def addr_del(address: str, dev: str, *, label: str | None = None, netns: str | None = None,
             dry_run: bool = False) -> Change:
    """``ip addr del ADDR[/LEN] dev DEV``: the address must be on DEV (NotFound)."""
    op = f"delete address {address} dev {dev}"
    iface = _interface(address, op)
    link = _dev(_links(netns), dev, op)
    lab = _label(label, dev, iface, op)
    plan = _plan(netns)
    have = _addresses_of(link, None, netns)
    on = [(a.prefixlen, a.label) for a in have
          if ipaddress.ip_address(a.local.split("%")[0]) == iface.ip]
    if plan is not None:  # and those the plan adds
        on += [(n, None) for d, ip, n in plan.added if d == dev and ip == iface.ip]
    if "/" in address:
        on = [a for a in on if a[0] == iface.network.prefixlen]
    if not on:
        raise NotFound(f"{op}: {dev} has no such address")
    plen = on[0][0]
    iface = ipaddress.ip_interface(f"{iface.ip}/{plen}")
    family = _family_of(iface.ip)
    payload = rq.addr_msg(family, plen, link.ifindex, iface.ip.packed, label=lab)
    text = f"{iface.with_prefixlen} dev {dev}"
    name = lab or on[0][1] or dev
    # 'ifconfig NAME 0.0.0.0' and 'ifconfig NAME down' remove the first IPv4 address
    # labelled NAME (devinet_ioctl finds it by label alone): another address of that
    # label has no net-tools spelling
    first = next((a.local for a in have if a.family == "inet" and (a.label or dev) == name),
                 None)
    classic = None if iface.version == 4 and first not in (None, str(iface.ip)) else \
        _addr_classic("del", iface, dev, name, None)
    return _run(Change(f"delete address {text}", f"ip addr del {text}", classic,
                       (Request(rq.RTM_DELADDR, 0, payload),)), netns, dry_run)


def addr_flush(dev: str, *, family: str | None = None, netns: str | None = None,
               dry_run: bool = False) -> Change:
    """``ip addr flush dev DEV``: every address of DEV (IPv4 secondaries before their
    primary, whose removal would take them along), one request each."""
    op = f"flush addresses of {dev}"
    link = _dev(_links(netns), dev, op)
    found = _addresses_of(link, family, netns)
    found.sort(key=lambda a: "secondary" not in a.flags)
    reqs = []
    for a in found:
        fam = socket.AF_INET if a.family == "inet" else socket.AF_INET6
        local = ipaddress.ip_address(a.local.split("%")[0])
        reqs.append(Request(rq.RTM_DELADDR, 0,
                            rq.addr_msg(fam, a.prefixlen, link.ifindex, local.packed)))
    fam_word = {None: "", "inet": "-4 ", "inet6": "-6 "}.get(family, "")
    return _run(Change(op, f"ip {fam_word}addr flush dev {dev}",
                       f"ifconfig {dev} 0.0.0.0" if family != "inet6" else None,
                       tuple(reqs)), netns, dry_run)


# -- routes ----------------------------------------------------------------------------

ROUTE_KINDS = ("unicast", "blackhole", "unreachable", "prohibit", "throw")
_VERB_WORDS = {"add": "add", "del": "delete", "replace": "replace"}
_VERB_FLAGS = {"add": NEW, "replace": REPLACE, "del": 0}
_FAMILIES: dict[str, int | None] = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}


def _connected(gw: IP, text: str, dev: str | None, netns: str | None) -> bool:
    """True when a connected route (unicast, no gateway) of any table covers ``gw``
    (and goes out ``dev`` when one is named): the kernel's rule for a gateway
    (fib_check_nh: the gateway must be reached at scope link). A session keeps the
    verdict by the gateway as written (``text``) while its networks stay."""
    if gw.version == 6 and gw.is_link_local:
        return dev is not None
    state = _session(netns)
    key = (text, dev)
    if state is not None and state.connected is not None and key in state.reach:
        return state.reach[key]
    found = any(net.version == gw.version and gw in net and (dev is None or dev == out)
                for net, out in _connected_networks(netns))
    if state is not None:
        state.reach[key] = found
    return found


def _connected_networks(netns: str | None) -> list[tuple[Network, str | None]]:
    state = _session(netns)
    if state is not None and state.connected is not None:
        return state.connected
    found: list[tuple[Network, str | None]] = []
    for r in _routes(netns):
        if r.type != "unicast" or r.gateway is not None or r.nexthops or r.dst == "default":
            continue
        try:
            net = ipaddress.ip_network(r.dst if "/" in r.dst else f"{r.dst}/{r.dst_len}",
                                       strict=False)
        except ValueError:
            continue
        found.append((net, r.dev))
    if state is not None:
        state.connected = found
    return found


def _route(verb: str, dst: str, *, via: str | None, dev: str | None,
           metric: Number | None, src: str | None, table: str | int | None,
           proto: str | int | None, scope: str | int | None, type: str,
           nexthops: Sequence[Hop], onlink: bool, family: str | None,
           netns: str | None, dry_run: bool) -> Change:
    words = [] if type == "unicast" else [type]
    words.append(dst)
    words += ["via", via] if via else []
    words += ["dev", dev] if dev else []
    op = f"{_VERB_WORDS[verb]} route {' '.join(words)}"
    if type not in ROUTE_KINDS:
        raise BadInput(f"{op}: unknown route type {type!r} ({', '.join(ROUTE_KINDS)})")
    fam_hint = _FAMILIES.get(family or "")
    if family not in (None, "inet", "inet6"):
        raise BadInput(f"{op}: unknown family {family!r} (inet or inet6)")
    gw = None if via is None else _ip(via, op, "gateway")
    if fam_hint is None and dst in ("default", "all", "any"):
        first = gw or (_ip(src, op, "source") if src else None) or next(
            (_ip(h.via, op, "gateway") for h in nexthops if h.via), None)
        fam_hint = _family_of(first) if first else None
    fam, net, plen = _prefix(dst, op, fam_hint)
    if gw is not None:
        _same_family(op, fam, gw, "gateway")
    pref = None if src is None else _ip(src, op, "source")
    if pref is not None:
        _same_family(op, fam, pref, "source")
    links = _links(netns)
    oif = None if dev is None else _dev(links, dev, op).ifindex
    tab = _table(table, op)
    if type != "unicast" and (gw is not None or nexthops):
        raise BadInput(f"{op}: a {type} route has no gateway")
    if nexthops and (gw is not None or dev is not None):
        raise BadInput(f"{op}: give either via/dev or nexthops, not both")
    hops: list[Nexthop] = []
    for hop in nexthops:
        hop_gw = None if hop.via is None else _ip(hop.via, op, "gateway")
        if hop_gw is not None:
            _same_family(op, fam, hop_gw, "gateway")
        if hop_gw is None and hop.dev is None:
            raise BadInput(f"{op}: a nexthop needs via or dev")
        hop_if = 0 if hop.dev is None else _dev(links, hop.dev, op).ifindex
        weight = _number(hop.weight, "weight", op, 1, 256)
        if verb != "del" and hop_gw is not None and not onlink \
                and not _connected(hop_gw, str(hop.via), hop.dev, netns):
            raise BadInput(f"{op}: the gateway {hop_gw} is on no connected network "
                           f"(no route reaches it directly; add 'onlink' to insist)")
        hops.append(Nexthop(_ntop(hop_gw), hop_if, weight))
    if verb != "del" and type == "unicast" and gw is None and oif is None and not hops:
        raise BadInput(f"{op}: say where it goes (via GATEWAY, dev DEV or nexthop ...)")
    if verb != "del" and gw is not None and not onlink \
            and not _connected(gw, str(via), dev, netns):
        raise BadInput(f"{op}: the gateway {gw} is on no connected network (no route "
                       f"reaches it directly; add 'onlink' to insist)")
    met = None if metric is None else _number(metric, "metric", op)
    rtype = rtnl.ROUTE_TYPES.index(type)
    if verb == "del":
        # as ip route del: unset fields match any route (kernel fib_table_delete)
        protocol = 0 if proto is None else _named(proto, rtnl.PROTOCOLS, "protocol", op, 255)
        sc = _scope(scope, op, 255)  # RT_SCOPE_NOWHERE: any scope
        rtype = rtype if type != "unicast" else 0
    else:
        # ip's defaults: protocol boot, scope link for a route with no gateway
        protocol = 3 if proto is None else _named(proto, rtnl.PROTOCOLS, "protocol", op, 255)
        direct = type == "unicast" and gw is None and not any(h.gateway for h in hops)
        sc = _scope(scope, op, 253 if direct else 0)
    plan = _plan(netns)
    if plan is not None and verb != "del" and type == "unicast" and gw is None \
            and not hops and dev is not None and net is not None:
        plan.connect(ipaddress.ip_network(f"{net}/{plen}"), dev)
    payload = rq.route_msg(fam, _ntop(net), plen, table=tab, protocol=protocol, scope=sc,
                           rtype=rtype, flags=rq.RTNH_F_ONLINK if onlink else 0,
                           gateway=_ntop(gw), oif=oif, prefsrc=_ntop(pref), metric=met,
                           nexthops=hops)
    more: list[str] = []
    if met is None and pref is None and table is None and proto is None and scope is None \
            and not onlink and not nexthops:
        pass  # the usual route of a batch: nothing more to say
    else:
        more = _more_words(met, pref, table, proto, scope, onlink, nexthops)
    six = "-6 " if fam == socket.AF_INET6 and dst in ("default", "all", "any") else ""
    # written when read (Change's docstring): partial, not closures, which would make
    # every variable of this function a cell
    line = partial(_joined, f"ip {six}route {verb}", words, more)
    classic = partial(_route_classic, verb, fam, net, plen, gw, dev, met, type, table, proto,
                      src, nexthops)
    flags = _VERB_FLAGS[verb]
    msg = rtnl.RTM_NEWROUTE if verb != "del" else rq.RTM_DELROUTE
    return _run(Change(f"{op} {' '.join(more)}" if more else op, line, classic,
                       (Request(msg, flags, payload),)), netns, dry_run)


def _more_words(met: int | None, pref: IP | None, table: object, proto: object,
                scope: object, onlink: bool, nexthops: Sequence[Hop]) -> list[str]:
    """The words of a route after its destination, gateway and device."""
    more = ["metric", str(met)] if met is not None else []
    more += ["src", str(pref)] if pref else []
    more += ["table", str(table)] if table is not None else []
    more += ["proto", str(proto)] if proto is not None else []
    more += ["scope", str(scope)] if scope is not None else []
    more += ["onlink"] if onlink else []
    for hop in nexthops:
        more += ["nexthop"] + (["via", str(hop.via)] if hop.via else []) + \
            (["dev", hop.dev] if hop.dev else []) + \
            (["weight", str(hop.weight)] if str(hop.weight) != "1" else [])
    return more


def _joined(head: str, *parts: list[str]) -> str:
    return " ".join([head, *(word for part in parts for word in part)])


def _route_classic(verb: str, fam: int, net: IP | None, plen: int, gw: IP | None,
                   dev: str | None, metric: int | None, type: str, table: object,
                   proto: object, src: object, nexthops: Sequence[Hop]) -> str | None:
    """net-tools' spelling (route(8)), or None where it has none (tables, protocols,
    sources, multipath and replace are rtnetlink's)."""
    if verb == "replace" or table is not None or proto is not None or src is not None \
            or nexthops or type in ("prohibit", "throw"):
        return None
    parts = ["route"]
    if fam == socket.AF_INET6:
        parts += ["-A", "inet6", verb, f"{net or '::'}/{plen}" if net else "default"]
    elif net is None:
        parts += [verb, "default"]
    elif plen == 32:
        parts += [verb, "-host", str(net)]
    else:
        mask = ipaddress.IPv4Address((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        parts += [verb, "-net", str(net), "netmask", str(mask)]
    parts += ["gw", str(gw)] if gw else []
    parts += ["metric", str(metric)] if metric is not None else []
    parts += ["reject"] if type in ("unreachable", "blackhole") else []
    parts += ["dev", dev] if dev else []
    return " ".join(parts)


def route_add(dst: str, *, via: str | None = None, dev: str | None = None,
              metric: Number | None = None, src: str | None = None,
              table: str | int | None = None, proto: str | int | None = None,
              scope: str | int | None = None, type: str = "unicast",
              nexthops: Sequence[Hop] = (), onlink: bool = False, family: str | None = None,
              netns: str | None = None, dry_run: bool = False) -> Change:
    """``ip route add [TYPE] PREFIX|default [via GW] [dev DEV] [metric N] [src A]
    [table T] [proto P] [scope S] [onlink] [nexthop via GW dev DEV weight W ...]``."""
    return _route("add", dst, via=via, dev=dev, metric=metric, src=src, table=table,
                  proto=proto, scope=scope, type=type, nexthops=nexthops, onlink=onlink,
                  family=family, netns=netns, dry_run=dry_run)


def route_replace(dst: str, *, via: str | None = None, dev: str | None = None,
                  metric: Number | None = None, src: str | None = None,
                  table: str | int | None = None, proto: str | int | None = None,
                  scope: str | int | None = None, type: str = "unicast",
                  nexthops: Sequence[Hop] = (), onlink: bool = False,
                  family: str | None = None, netns: str | None = None,
                  dry_run: bool = False) -> Change:
    """``ip route replace ...``: as :func:`route_add`, overwriting a route of the same
    prefix, metric and table."""
    return _route("replace", dst, via=via, dev=dev, metric=metric, src=src, table=table,
                  proto=proto, scope=scope, type=type, nexthops=nexthops, onlink=onlink,
                  family=family, netns=netns, dry_run=dry_run)


def route_del(dst: str, *, via: str | None = None, dev: str | None = None,
              metric: Number | None = None, table: str | int | None = None,
              proto: str | int | None = None, scope: str | int | None = None,
              type: str = "unicast", family: str | None = None, netns: str | None = None,
              dry_run: bool = False) -> Change:
    """``ip route del PREFIX [via GW] [dev DEV] [metric N] [table T]``: the fields left
    out match any route."""
    return _route("del", dst, via=via, dev=dev, metric=metric, src=None, table=table,
                  proto=proto, scope=scope, type=type, nexthops=(), onlink=False,
                  family=family, netns=netns, dry_run=dry_run)


# -- rules -----------------------------------------------------------------------------

RULE_ACTIONS = {"lookup": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8}


def _rule(verb: str, *, priority: Number | None, src: str | None, dst: str | None,
          iif: str | None, oif: str | None, fwmark: str | int | None,
          table: str | int | None, action: str, family: str | None, netns: str | None,
          dry_run: bool) -> Change:
    words: list[str] = []
    words += ["priority", str(priority)] if priority is not None else []
    words += ["from", src] if src else []
    words += ["to", dst] if dst else []
    words += ["iif", iif] if iif else []
    words += ["oif", oif] if oif else []
    words += ["fwmark", str(fwmark)] if fwmark is not None else []
    if action == "lookup":
        words += ["lookup", str(table if table is not None else "main")] \
            if verb == "add" or table is not None else []
    else:
        words.append(action)
    op = f"{'add' if verb == 'add' else 'delete'} rule {' '.join(words)}".rstrip()
    if action not in RULE_ACTIONS:
        raise BadInput(f"{op}: unknown action {action!r} ({', '.join(RULE_ACTIONS)})")
    if action != "lookup" and table is not None:
        raise BadInput(f"{op}: a {action} rule looks up no table")
    fam = {None: None, "inet": socket.AF_INET, "inet6": socket.AF_INET6}.get(family, -1)
    if fam == -1:
        raise BadInput(f"{op}: unknown family {family!r} (inet or inet6)")
    sel: dict[str, tuple[IP, int]] = {}
    for what, text in (("from", src), ("to", dst)):
        if text is None or text == "all":
            continue
        f, ip, length = _prefix(text, op, fam)
        if ip is None:
            continue
        fam = f
        sel[what] = (ip, length)
    for name in (iif, oif):
        if name is not None:
            _ifname(name, op)
    mark = mask = None
    if fwmark is not None:
        m, _, k = str(fwmark).partition("/")
        mark = _number(m, "fwmark", op)
        mask = None if not k else _number(k, "fwmark mask", op)
    prio = None if priority is None else _number(priority, "priority", op)
    tab = 0
    if action == "lookup" and (verb == "add" or table is not None):
        tab = _table(table, op)
    if verb == "del" and not words:
        raise BadInput(f"{op}: say which rule (priority N, from, to, ...)")
    fam = fam or socket.AF_INET
    s = sel.get("from")
    d = sel.get("to")
    payload = rq.rule_msg(fam, action=RULE_ACTIONS[action] if verb == "add" or
                          action != "lookup" else 0, table=tab, priority=prio,
                          src=s[0].packed if s else None, src_len=s[1] if s else 0,
                          dst=d[0].packed if d else None, dst_len=d[1] if d else 0,
                          iif=iif, oif=oif, fwmark=mark, fwmask=mask)
    six = "-6 " if fam == socket.AF_INET6 else ""
    msg = rtnl.RTM_NEWRULE if verb == "add" else rq.RTM_DELRULE
    return _run(Change(op, f"ip {six}rule {verb} {' '.join(words)}".rstrip(), None,
                       (Request(msg, NEW if verb == "add" else 0, payload),)),
                netns, dry_run)


def rule_add(*, priority: Number | None = None, src: str | None = None,
             dst: str | None = None, iif: str | None = None, oif: str | None = None,
             fwmark: str | int | None = None, table: str | int | None = None,
             action: str = "lookup", family: str | None = None, netns: str | None = None,
             dry_run: bool = False) -> Change:
    """``ip rule add [priority N] [from P] [to P] [iif DEV] [oif DEV] [fwmark M[/MASK]]
    [lookup TABLE | blackhole | unreachable | prohibit]`` (net-tools has no rules)."""
    return _rule("add", priority=priority, src=src, dst=dst, iif=iif, oif=oif, fwmark=fwmark,
                 table=table, action=action, family=family, netns=netns, dry_run=dry_run)


def rule_del(*, priority: Number | None = None, src: str | None = None,
             dst: str | None = None, iif: str | None = None, oif: str | None = None,
             fwmark: str | int | None = None, table: str | int | None = None,
             action: str = "lookup", family: str | None = None, netns: str | None = None,
             dry_run: bool = False) -> Change:
    """``ip rule del ...``: the first rule matching every field given."""
    return _rule("del", priority=priority, src=src, dst=dst, iif=iif, oif=oif, fwmark=fwmark,
                 table=table, action=action, family=family, netns=netns, dry_run=dry_run)


# -- neighbours ------------------------------------------------------------------------

NUD = {"permanent": 0x80, "reachable": 0x02, "stale": 0x04, "noarp": 0x40, "delay": 0x08,
       "probe": 0x10}


def _neigh(verb: str, dst: str, dev: str, lladdr: str | None, nud: str,
           netns: str | None, dry_run: bool) -> Change:
    words = [dst] + (["lladdr", lladdr] if lladdr else []) + ["dev", dev]
    if verb != "del":
        words += ["nud", nud]
    op = f"{ {'add': 'add', 'replace': 'replace', 'del': 'delete'}[verb]} neighbour " \
         f"{' '.join(words)}"
    ip = _ip(dst, op, "neighbour address")
    link = _dev(_links(netns), dev, op)
    if nud not in NUD:
        raise BadInput(f"{op}: unknown state nud {nud!r} ({', '.join(NUD)})")
    mac = None
    if lladdr is not None:
        length = len(bytes.fromhex(link.address.replace(":", ""))) if link.address else 0
        if not length:
            raise BadInput(f"{op}: {dev} has no link-layer addresses (a {link.kind} device)")
        mac = _mac(lladdr, op, length)
    elif verb != "del" and nud != "noarp":
        raise BadInput(f"{op}: give the link-layer address (lladdr MAC)")
    fam = _family_of(ip)
    payload = rq.neigh_msg(fam, link.ifindex, ip.packed,
                           state=NUD[nud] if verb != "del" else 0, lladdr=mac)
    classic = None
    if fam == socket.AF_INET:
        if verb == "del":
            classic = f"arp -d {ip} -i {dev}"
        elif mac is not None and nud == "permanent":  # arp -s adds or replaces
            classic = f"arp -i {dev} -s {ip} {mac.hex(':')}"
    flags = {"add": NEW, "replace": REPLACE, "del": 0}[verb]
    msg = rq.RTM_DELNEIGH if verb == "del" else rtnl.RTM_NEWNEIGH
    six = "-6 " if fam == socket.AF_INET6 else ""
    return _run(Change(op, f"ip {six}neigh {verb} {' '.join(words)}", classic,
                       (Request(msg, flags, payload),)), netns, dry_run)


def neigh_add(dst: str, *, dev: str, lladdr: str | None = None, nud: str = "permanent",
              netns: str | None = None, dry_run: bool = False) -> Change:
    """``ip neigh add ADDR lladdr MAC dev DEV [nud permanent|reachable|stale|noarp]``
    (``arp -s``): a new entry; one for that address already is EEXIST."""
    return _neigh("add", dst, dev, lladdr, nud, netns, dry_run)


def neigh_replace(dst: str, *, dev: str, lladdr: str | None = None, nud: str = "permanent",
                  netns: str | None = None, dry_run: bool = False) -> Change:
    """``ip neigh replace ...``: add, or overwrite the entry for that address."""
    return _neigh("replace", dst, dev, lladdr, nud, netns, dry_run)


def neigh_del(dst: str, *, dev: str, netns: str | None = None,
              dry_run: bool = False) -> Change:
    """``ip neigh del ADDR dev DEV`` (``arp -d``)."""
    return _neigh("del", dst, dev, None, "permanent", netns, dry_run)


def neigh_flush(dev: str, *, all_states: bool = False, netns: str | None = None,
                dry_run: bool = False) -> Change:
    """``ip neigh flush dev DEV``: the entries of DEV, except PERMANENT and NOARP ones as
    ip leaves them, unless ``all_states`` (``nud all``: static entries too)."""
    op = f"flush neighbours of {dev}"
    link = _dev(_links(netns), dev, op)
    reqs = []
    for n in read.neighbours(all_states=True, netns=netns, source="netlink"):
        if n.ifindex != link.ifindex:  # by index: a device planned or renamed in a batch
            continue
        if "NOARP" in n.state or ("PERMANENT" in n.state and not all_states):
            continue
        ip = ipaddress.ip_address(n.dst)
        reqs.append(Request(rq.RTM_DELNEIGH, 0,
                            rq.neigh_msg(_family_of(ip), link.ifindex, ip.packed)))
    nud = " nud all" if all_states else ""
    return _run(Change(op, f"ip neigh flush dev {dev}{nud}", None, tuple(reqs)),
                netns, dry_run)
