"""Read the stack from the kernel: ``socklab.links()``, ``addresses()``, ``routes()``,
``rules()``, ``neighbours()`` and ``route_get()``.

Each function opens one rtnetlink socket (in the named namespace when
``netns`` is given: a netlink socket talks to the namespace it was made in),
dumps, decodes with :mod:`socklab.stack.rtnl`, and returns a list of models.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar, overload

from socklab.errors import (
    BadInput,
    MissingPrivilege,
    NetworkError,
    NotFound,
    SocklabError,
    from_oserror,
)

# Only what the netlink paths need is imported here: the /proc readers (nettools,
# ifioctl) and the namespace helpers load when used (2-3 ms of every stack command).
from socklab.kernel import netlink, procfs
from socklab.stack import route_runs, rtnl
from socklab.stack.model import Address, Link, Neighbour, Route, RouteLookup, Rule

__all__ = ["addresses", "explain_route", "links", "neighbours", "route_get", "routes", "rules"]

if TYPE_CHECKING:
    from socklab.stack import nettools, route_probe
    from socklab.stack.lookup import Explanation

T = TypeVar("T")

FAMILY_WORDS = {None: socket.AF_UNSPEC, "inet": socket.AF_INET, "4": socket.AF_INET,
                "inet6": socket.AF_INET6, "6": socket.AF_INET6}


def _family(word: str | None) -> int:
    if word not in FAMILY_WORDS:
        raise BadInput(f"unknown address family {word!r} (inet or inet6)")
    return FAMILY_WORDS[word]


def _enter(netns: str | None) -> AbstractContextManager[object]:
    if not netns:
        return nullcontext()
    from socklab.kernel import netns as knetns

    return knetns.entered(netns)


def _open(netns: str | None) -> netlink.NetlinkSocket:
    with _enter(netns):
        try:
            return netlink.NetlinkSocket(netlink.NETLINK_ROUTE)
        except OSError as exc:
            raise from_oserror(exc, "open rtnetlink socket") from exc


SOURCES = ("auto", "netlink", "proc")


def _links_proc(netns: str | None) -> list[Link]:
    from socklab.kernel import ifioctl
    from socklab.kernel import sock as ksock
    from socklab.stack import nettools

    with _enter(netns):
        counters = nettools.parse_dev(procfs.read_net("dev") or "")
        with ksock.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            infos = {}
            for name in counters:
                try:
                    infos[name] = ifioctl.link_info(sock, name)
                except OSError:  # gone since /proc/net/dev was read
                    continue
    found = [nettools.link(name, info, counters[name]) for name, info in infos.items()]
    return sorted(found, key=lambda link: link.ifindex)


def _addresses_proc(netns: str | None, fam: int) -> tuple[set[str], list[Address]]:
    """The interface names and the addresses, from /proc/net and the ifconfig ioctls."""
    from socklab.kernel import ifioctl
    from socklab.kernel import sock as ksock
    from socklab.stack import nettools

    found: list[Address] = []
    with _enter(netns):
        devices = set(nettools.parse_dev_names(procfs.read_net("dev") or ""))
        if fam != socket.AF_INET6:
            with ksock.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for label, addr, mask, brd in ifioctl.ipv4_addresses(sock):
                    index = ifioctl.ifindex(sock, label.split(":", 1)[0])
                    found.append(nettools.ipv4_address(label, index, addr, mask, brd))
        if fam != socket.AF_INET:
            found += nettools.parse_if_inet6(procfs.read_net("if_inet6") or "")
    return devices, found


def _open_or_none(netns: str | None, source: str) -> netlink.NetlinkSocket | None:
    """The rtnetlink socket, or None when the /proc texts are to be read instead."""
    if source not in SOURCES:
        raise BadInput(f"unknown source {source!r} (auto, netlink or proc)")
    if source == "proc":
        return None
    try:
        return _open(netns)
    except (NetworkError, MissingPrivilege):
        if source == "netlink":
            raise
        return None  # a sandbox without rtnetlink: /proc/net, as net-tools reads it


def _dump(nl: netlink.NetlinkSocket, what: str, msg_type: int, payload: bytes,
          decode: Callable[[memoryview, int, int], T]) -> list[T]:
    try:
        return [decode(buf, start, end) for buf, _t, start, end in nl.dump(msg_type, payload)]
    except OSError as exc:
        raise NetworkError(f"dump {what}", exc.errno) from exc


def _ifnames(nl: netlink.NetlinkSocket) -> dict[int, str]:
    return dict(_dump(nl, "links", rtnl.RTM_GETLINK, rtnl.link_request(),
                      rtnl.decode_link_name))


def _stream(nl: netlink.NetlinkSocket, what: str, msg_type: int, payload: bytes,
            decode: Callable[[memoryview, int, int], T], wanted: int,
            prefetch: bool = True) -> Iterator[T]:
    """The decoded replies of a dump as the kernel sends them (chunk by chunk, with
    ``prefetch`` the next chunks received while these are decoded: memory stays
    flat); ``nl`` is closed at the end. OSError becomes NetworkError."""
    with nl:
        try:
            yield from nl.dump_chunks(msg_type, payload, netlink.chunk_decoder(decode, wanted),
                                      prefetch=prefetch)
        except OSError as exc:
            raise NetworkError(f"dump {what}", exc.errno) from exc


def links(dev: str | None = None, *, netns: str | None = None,
          source: str = "auto") -> Iterator[Link]:
    """Every interface (or the one named ``dev``), as ``ip link``. Raises NotFound.

    The links stream out as the kernel dumps them (an iterator: memory stays flat
    however many there are); ``dev`` is looked for at once (NotFound is raised by
    the call, not by the iteration).

    ``source`` as for :func:`routes`; ``proc`` is /proc/net/dev and the ifconfig
    ioctls (no operational state, qdisc, master or peer)."""
    nl = _open_or_none(netns, source)
    if nl is None:
        found = _links_proc(netns)
    else:
        try:  # the peers' socket is made here too: the iteration may run in another thread
            peers = _open(netns)
        except BaseException:
            nl.close()
            raise
        # no prefetching thread: the kernel dumps 1,000 links in 2 ms, and the thread
        # (threading, queue, ctypes for recvmmsg) cost more than the 2 ms it overlapped
        dumped = _named_peers(_stream(nl, "links", rtnl.RTM_GETLINK, rtnl.link_request(),
                                      rtnl.link_decoder(), rtnl.RTM_NEWLINK, prefetch=False),
                              peers)
        if dev is None:
            return dumped
        found = [link for link in dumped if link.name == dev]
    if dev is not None:
        found = [link for link in found if link.name == dev]
        if not found:
            raise NotFound(f"link {dev}: no such interface")
    return iter(found)


def _named_peers(found: Iterator[Link], nl: netlink.NetlinkSocket) -> Iterator[Link]:
    """The links, their peers in other namespaces named (:func:`_name_peer`) on a
    second socket ``nl``, closed at the end."""
    spaces: dict[int, str] | None = None
    with nl:
        for link in found:
            if link.link_netnsid is None or link.link is None:
                yield link
                continue
            if spaces is None:
                spaces = _nsids(nl)
            yield _name_peer(nl, link, spaces)


def _nsids(nl: netlink.NetlinkSocket) -> dict[int, str]:
    """nsid -> the name under /run/netns of the namespace it stands for here
    (RTM_GETNSID; none is assigned by asking)."""
    from socklab.kernel import netns as knetns

    spaces: dict[int, str] = {}
    for name in knetns.named():
        try:
            fd = os.open(os.path.join(knetns.NETNS_RUN_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # gone, or not ours to open
            continue
        try:
            for buf, mtype, start, end in nl.dump(rtnl.RTM_GETNSID, rtnl.nsid_request(fd),
                                                 flags=netlink.NLM_F_REQUEST):
                nsid = rtnl.decode_nsid(buf, start, end) if mtype == rtnl.RTM_NEWNSID else None
                if nsid is not None:
                    spaces.setdefault(nsid, name)
        except (OSError, SocklabError):  # not a namespace file, or the kernel said no
            pass
        finally:
            os.close(fd)
    return spaces


def _name_peer(nl: netlink.NetlinkSocket, link: Link, spaces: dict[int, str]) -> Link:
    """Name the peer of a link that lives in another namespace (a veth's other end:
    ``link`` and ``link_netnsid``), where that namespace can be read, as ``ip link``
    names them: the interface by asking for it in the namespace of that nsid
    (IFLA_TARGET_NETNSID, Linux >= 4.20, CAP_NET_ADMIN there), the namespace from
    ``spaces`` (:func:`_nsids`). What cannot be read stays None: the index and
    nsid are still shown."""
    assert link.link is not None
    peer = None
    try:
        for buf, mtype, start, end in nl.dump(
                rtnl.RTM_GETLINK, rtnl.link_get_request(link.link, link.link_netnsid),
                flags=netlink.NLM_F_REQUEST):
            if mtype == rtnl.RTM_NEWLINK:
                peer = rtnl.decode_link_name(buf, start, end)[1]
    except (OSError, SocklabError):  # no privilege there, an old kernel, gone
        peer = None
    return link._replace(link_name=peer, link_netns=spaces.get(link.link_netnsid or 0))


def addresses(dev: str | None = None, family: str | None = None, *,
              netns: str | None = None, source: str = "auto") -> Iterator[Address]:
    """Every address (of ``dev``, of ``family``), as ``ip addr``. Raises NotFound (at
    the call, not during the iteration).

    The addresses stream out as the kernel dumps them (an iterator: memory stays
    flat); ``dev``'s are filtered by the kernel where it can (strict checking).
    ``source`` as for :func:`routes`; ``proc`` is /proc/net/if_inet6 and, for IPv4,
    the labelled addresses ifconfig lists (SIOCGIFCONF), without lifetimes."""
    fam = _family(family)
    nl = _open_or_none(netns, source)
    if nl is None:
        devices, found = _addresses_proc(netns, fam)
        if dev is not None:
            if dev not in devices:
                raise NotFound(f"address of {dev}: no such interface")
            found = [a for a in found if a.ifname == dev]
        return iter(found)
    names, index = _names_and_index(nl, dev, "address of")
    strict = bool(index) and nl.enable_strict_check()
    dumped = _stream(nl, "addresses", rtnl.RTM_GETADDR,
                     rtnl.addr_request(fam, index if strict else 0),
                     lambda b, s, e: rtnl.decode_addr(b, s, e, names), rtnl.RTM_NEWADDR)
    return dumped if not index else (a for a in dumped if a.ifindex == index)


def _names_and_index(nl: netlink.NetlinkSocket, dev: str | None,
                     what: str) -> tuple[dict[int, str], int]:
    """The interface names, and the index of ``dev`` (0 for none). NotFound, and
    ``nl`` closed, when no interface has that name."""
    try:
        names = _ifnames(nl)
    except BaseException:
        nl.close()
        raise
    index = next((i for i, name in names.items() if name == dev), 0) if dev else 0
    if dev is not None and not index:
        nl.close()
        raise NotFound(f"{what} {dev}: no such interface")
    return names, index


def routes(table: str | None = None, family: str | None = None, *,
           netns: str | None = None, source: str = "auto") -> Iterator[Route]:
    """Routes of every table (or ``table``: main, local, default, a number or
    ``all``), as ``ip route show table all``. Cloned/cached entries are left out.

    The routes stream out as the kernel dumps them (an iterator: memory stays
    flat however big the table); the kernel filters the table and the family
    (NETLINK_GET_STRICT_CHK). Bad arguments raise BadInput at once.

    ``source``: ``netlink``, ``proc`` (/proc/net/route and ipv6_route, as
    ``route -n`` reads them: IPv4 main table only, no protocol), or ``auto``:
    netlink, and /proc when rtnetlink cannot be opened."""
    return _routes(table, family, netns, source, as_rows=False)


def route_rows(table: str | None = None, family: str | None = None, *,
               netns: str | None = None, source: str = "auto") -> Iterator[tuple[Any, ...]]:
    """:func:`routes` as the plain table's rows (:func:`route_runs.route_row`: table,
    type, destination, gateway, device, source, metric, protocol, scope), decoded
    straight from the dump with no record in between: ``socklab route``."""
    return _routes(table, family, netns, source, as_rows=True)


def route_json(table: str | None = None, family: str | None = None, *,
               netns: str | None = None, source: str = "auto",
               encode: Callable[[object], str]) -> Iterator[str]:
    """:func:`routes` as the JSON text of each record (as a dict, by ``encode``),
    made straight from the dump with no record in between: ``socklab --json route``."""
    if source == "proc":
        return (encode(r._asdict()) for r in routes(table, family, netns=netns, source=source))
    return _routes(table, family, netns, source, as_rows=False, encode=encode)


def _routes(table: str | None, family: str | None, netns: str | None, source: str,
            as_rows: bool, encode: Callable[[object], str] | None = None) -> Iterator[Any]:
    fam = _family(family)
    tables = procfs.read_rt_tables()
    wanted = _table_word(table, tables) if table not in (None, "all") else None
    nl = _open_or_none(netns, source)
    if nl is None:
        from socklab.stack import nettools

        with _enter(netns):
            v4 = procfs.read_net("route") if fam != socket.AF_INET6 else None
            v6 = procfs.read_net("ipv6_route") if fam != socket.AF_INET else None
        found = (nettools.parse_route(v4) if v4 else []) + \
            (nettools.parse_ipv6_route(v6) if v6 else [])
        found = [r for r in found if wanted is None or r.table == wanted]
        if encode is not None:
            return iter([encode(r._asdict()) for r in found])
        return iter(list(map(route_runs.route_row, found)) if as_rows else found)
    return _route_dump(nl, fam, wanted, _table_number(wanted, tables), tables, as_rows, encode)


def _table_number(name: str | None, tables: dict[int, str]) -> int:
    """The id of the table named ``name`` for the kernel's filter; 0 (no filter) for
    none, or for a name /etc/iproute2/rt_tables gives to several ids."""
    if name is None:
        return 0
    ids = [number for number, known in {**rtnl.TABLES, **tables}.items() if known == name]
    if len(ids) == 1:
        return ids[0]
    return int(name) if not ids and name.isascii() and name.isdigit() else 0


def _route_dump(nl: netlink.NetlinkSocket, fam: int, wanted: str | None, number: int,
                tables: dict[int, str], as_rows: bool,
                encode: Callable[[object], str] | None = None) -> Iterator[Any]:
    with nl:
        names = _ifnames(nl)
        strict = nl.enable_strict_check()
        filtered = wanted is None or bool(strict and number)  # the kernel filters the table
        decode = route_runs.route_chunk_decoder(names, tables, as_rows,
                                                encode=encode if filtered else None)
        try:
            found = nl.dump_chunks(rtnl.RTM_GETROUTE, rtnl.route_request(
                fam, number if strict else 0), decode, prefetch=True)
            if filtered:
                yield from found
            else:  # an old kernel has no filter, or a name several ids share: by name too
                kept = (r for r in found if r[ROUTE_TABLE_FIELD if not as_rows else 0]
                        == wanted)
                yield from (map(encode, (r._asdict() for r in kept)) if encode is not None
                            else kept)
        except OSError as exc:
            if exc.errno == errno.ENOENT and wanted is not None:
                return  # ipv4: "FIB table does not exist"
            raise NetworkError("dump routes", exc.errno) from exc


ROUTE_TABLE_FIELD = Route._fields.index("table")


TABLE_MAX = 0xFFFFFFFF  # a table id is a u32 (RTA_TABLE)


def _table_word(word: str, tables: dict[int, str]) -> str:
    """The table's name as routes carry it. A number is decimal, 0 to 2**32-1."""
    known = {**rtnl.TABLES, **tables}
    if word.isascii() and word.isdigit():
        number = int(word)
        if number > TABLE_MAX:
            raise BadInput(f"routing table {word}: out of range (a table id is 0 to {TABLE_MAX})")
        return rtnl.table_name(number, tables)
    if word in known.values():
        return word
    raise BadInput(f"unknown routing table {word!r} (main, local, default, a number, all)")


def table_ids(tables: dict[int, str] | None = None) -> dict[str, int]:
    """Table name -> id, for the names routes carry (rtnl's and /etc/iproute2/rt_tables',
    or ``tables`` when given; a table without a name is its number)."""
    named = {**rtnl.TABLES, **(procfs.read_rt_tables() if tables is None else tables)}
    return {name: number for number, name in named.items()}


def ipv6_route_refs(netns: str | None = None) -> dict[nettools.RouteRefKey, list[int]]:
    """The reference count of each IPv6 route, from /proc/net/ipv6_route (empty when the
    file cannot be read): ``(dst/len, next hop, metric, dev) -> counts, in the file's order``."""
    from socklab.stack import nettools

    with _enter(netns):
        text = procfs.read_net("ipv6_route")
    return nettools.parse_ipv6_route_refs(text) if text else {}


def rules(family: str | None = None, *, netns: str | None = None) -> list[Rule]:
    """The routing policy database, as ``ip rule`` (IPv4 then IPv6 when no family)."""
    fam = _family(family)
    tables = procfs.read_rt_tables()
    out: list[Rule] = []
    with _open(netns) as nl:
        for f in ([socket.AF_INET, socket.AF_INET6] if fam == socket.AF_UNSPEC else [fam]):
            out += _dump(nl, "rules", rtnl.RTM_GETRULE, rtnl.rule_request(f),
                         lambda b, s, e: rtnl.decode_rule(b, s, e, tables))
    return out


def neighbours(dev: str | None = None, family: str | None = None, *, all_states: bool = False,
               netns: str | None = None, source: str = "auto",
               proxies: bool = False) -> Iterator[Neighbour]:
    """The neighbour (ARP/NDP) tables, as ``ip neigh``: entries that are only NOARP
    (multicast, loopback) are left out unless ``all_states`` (``nud all``). With
    ``proxies``, the proxy entries follow (``ip neigh show proxy``; flags ``proxy``;
    rtnetlink only). Raises NotFound (at the call, not during the iteration).

    The entries stream out as the kernel dumps them (an iterator: memory stays
    flat); ``dev``'s are filtered by the kernel where it can (strict checking).
    ``source`` as for :func:`routes`; /proc/net/arp has IPv4 entries only, and its
    flags tell PERMANENT, COMPLETE (any resolved state) and INCOMPLETE apart."""
    fam = _family(family)
    nl = _open_or_none(netns, source)
    if nl is None:
        from socklab.stack import nettools

        with _enter(netns):
            text = procfs.read_net("arp") if fam != socket.AF_INET6 else None
            devices = set(nettools.parse_dev_names(procfs.read_net("dev") or ""))
        if dev is not None and dev not in devices:
            raise NotFound(f"neighbours of {dev}: no such interface")
        found = nettools.parse_arp(text) if text else []
        return iter([n for n in found if (all_states or n.state not in (("NOARP",), ("NONE",)))
                     and (dev is None or n.dev == dev)])
    names, index = _names_and_index(nl, dev, "neighbours of")
    return _neighbour_dump(nl, names, fam, index, all_states, proxies)


def _neighbour_dump(nl: netlink.NetlinkSocket, names: dict[int, str], fam: int, index: int,
                    all_states: bool, proxies: bool) -> Iterator[Neighbour]:
    with nl:
        strict = bool(index) and nl.enable_strict_check()
        for proxy in (False, True) if proxies else (False,):
            for n in nl.dump_chunks(rtnl.RTM_GETNEIGH, rtnl.neigh_request(
                    fam, proxy, index if strict else 0), netlink.chunk_decoder(
                    lambda b, s, e: rtnl.decode_neigh(b, s, e, names), rtnl.RTM_NEWNEIGH),
                    prefetch=True):
                if n.family in ("inet", "inet6") and (not index or n.ifindex == index) and (
                        proxy or all_states or n.state not in (("NOARP",), ("NONE",))):
                    yield n


def route_get(dst: str, *, netns: str | None = None) -> RouteLookup:
    """Ask the kernel which route it would use for ``dst`` (``ip route get``); no packet
    is sent. Raises BadInput for a bad address; an unreachable destination is
    returned with ``error`` set."""
    return _route_get(dst, netns)[0]


def _route_get(dst: str, netns: str | None) -> tuple[RouteLookup, Route | None]:
    """:func:`route_get`, and the route that won as the kernel dumps it
    (``RTM_F_FIB_MATCH``: its prefix, metric and table), None on an error."""
    text = _destination(dst)
    tables = procfs.read_rt_tables()
    with _open(netns) as nl:
        return _ask_route(nl, text, _ifnames(nl), tables)


def _destination(dst: str) -> str:
    """``dst`` as the kernel's address text; BadInput when it is no address."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(dst.strip("[]")))
    except ValueError:
        raise BadInput(f"route get: bad destination {dst!r} (expected an IP address)") from None


def _ask_route(nl: netlink.NetlinkSocket, text: str, names: dict[int, str],
               tables: dict[int, str]) -> tuple[RouteLookup, Route | None]:
    try:
        (answer,) = _request(nl, rtnl.route_get_request(text),
                             lambda b, s, e: rtnl.decode_route_get(b, s, e, text, names, tables))
        (match,) = _request(nl, rtnl.route_get_request(text, fib_match=True),
                            lambda b, s, e: rtnl.decode_route(b, s, e, names, tables))
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EINVAL):
            return RouteLookup(dst=text, type="unreachable", table=None, dev=None,
                               gateway=None, prefsrc=None, matched=None,
                               error=exc.strerror or str(exc)), None
        raise NetworkError(f"route get {text}", exc.errno) from exc
    return RouteLookup(dst=answer.dst, type=answer.type, table=match.table, dev=answer.dev,
                       gateway=answer.gateway, prefsrc=answer.prefsrc,
                       matched=_prefix(match)), match


# Bytes of one table's dump route get reads before it asks the kernel for the
# candidates instead (stack/route_probe.py): about 900 IPv4 routes, a millisecond.
PROBE_AFTER = 64 << 10


class _TooBig(Exception):
    """A table's dump passed PROBE_AFTER bytes."""


def _candidates(dst: str, found_rules: list[Rule], netns: str | None, names: dict[int, str],
                tables: dict[int, str], strict: bool, match: Route | None = None,
                probe_after: int | None = PROBE_AFTER
                ) -> tuple[list[Route], route_probe.Probed | None]:
    """The routes the lookup walk compares, and no others: those whose prefix contains
    ``dst``, in the tables the rules of its family name, and how they were found.

    Each table is dumped apart (the kernel filters it when ``strict``:
    NETLINK_GET_STRICT_CHK) and skipped over on raw bytes
    (:func:`route_runs.route_chunk_decoder`), so its routes are never decoded. The
    table of ``match`` (the kernel's winner), when its dump passes ``probe_after``
    bytes, is not read: its candidates are asked of the kernel
    (:mod:`socklab.stack.route_probe`), and the Probed says what was seen."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    family = rtnl.FAMILIES[fam]
    numbers = sorted({_table_number(r.table, tables) for r in found_rules
                      if r.family == family and r.table is not None})
    out: list[Route] = []
    if not strict or 0 in numbers:
        numbers = [0]  # no filter in the kernel: every table, skipped over
    winning = _table_number(match.table, tables) if match is not None else 0
    for number in numbers:
        limit = probe_after if number == winning and number else None
        try:
            out += _table_candidates(netns, fam, number, names, tables, dst, limit)
        except _TooBig:
            if match is None:  # never: only the winner's table has a limit
                raise
            probed = _probe(dst, match, found_rules, netns, names, tables)
            return [r for r in out if r.table != match.table] + probed.routes, probed
    return out, None


def _table_candidates(netns: str | None, fam: int, number: int, names: dict[int, str],
                      tables: dict[int, str], dst: str, limit: int | None) -> list[Route]:
    """The routes of one table (every table for 0) whose prefix contains ``dst``.
    Raises _TooBig when the dump passes ``limit`` bytes (its socket is then closed
    mid-dump: the kernel drops the rest)."""
    decode = route_runs.route_chunk_decoder(names, tables, containing=dst)
    seen = 0

    def counted(buf: memoryview, n: int) -> tuple[list[Route], bool]:
        nonlocal seen
        seen += n
        items, done = decode(buf, n)
        if limit is not None and seen > limit and not done:
            raise _TooBig
        return items, done

    with _open(netns) as nl:
        nl.enable_strict_check()
        try:
            return list(nl.dump_chunks(rtnl.RTM_GETROUTE, rtnl.route_request(fam, number),
                                       counted, prefetch=limit is None))
        except OSError as exc:
            if exc.errno != errno.ENOENT:  # a rule naming a table that does not exist
                raise NetworkError("dump routes", exc.errno) from exc
            return []


def _probe(dst: str, match: Route, found_rules: list[Rule], netns: str | None,
           names: dict[int, str], tables: dict[int, str]) -> route_probe.Probed:
    """The candidates of the winner's table, from kernel lookups (route_probe)."""
    from socklab.stack import lookup, route_probe

    family = match.family
    mine = [r for r in found_rules if r.family == family]
    walk = lookup.rule_matches(mine, dst)

    def ask(address: str) -> route_probe.Answer:
        try:
            (found,) = _request(nl, rtnl.route_get_request(address, fib_match=True),
                                lambda b, s, e: rtnl.decode_route(b, s, e, names, tables))
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES,
                             errno.EINVAL):
                return exc.errno
            raise NetworkError(f"route get {address}", exc.errno) from exc
        return found

    with _open(netns) as nl:
        return route_probe.probe_candidates(
            dst, match, match.table, ask, lambda a: lookup.rule_matches(mine, a) == walk)


def _prefix(r: Route) -> str:
    if r.dst == "default":
        return "0.0.0.0/0" if r.family == "inet" else "::/0"
    return r.dst if "/" in r.dst else f"{r.dst}/{r.dst_len}"


def _request(nl: netlink.NetlinkSocket, payload: bytes,
             decode: Callable[[memoryview, int, int], T]) -> Iterator[T]:
    out = [decode(buf, start, end) for buf, _t, start, end in
           nl.dump(rtnl.RTM_GETROUTE, payload, flags=netlink.NLM_F_REQUEST)]
    return iter(out)


def explain_route(dst: str, *, netns: str | None = None,
                  probe_after: int | None = PROBE_AFTER) -> Explanation:
    """``route get`` explained: the kernel's answer and socklab's own walk over the rules
    and tables (see :mod:`socklab.stack.lookup`). Raises BadInput for a bad address.

    The winner's table is read when its dump stays under ``probe_after`` bytes (None:
    always); past that its candidates are asked of the kernel, one lookup per prefix
    length (:mod:`socklab.stack.route_probe`), and the explanation's ``found_by``
    says what was asked and what could not be seen. The addresses and neighbours
    read are those of the winner's interface (the kernel filters them), the only
    ones the explanation names."""
    from socklab.stack import lookup

    text = _destination(dst)
    tables = procfs.read_rt_tables()
    with _open(netns) as nl, _LinkNames(_open(netns)) as names:
        kernel, match = _ask_route(nl, text, names, tables)
        found_rules = [rule for f in (socket.AF_INET, socket.AF_INET6) for rule in _dump(
            nl, "rules", rtnl.RTM_GETRULE, rtnl.rule_request(f),
            lambda b, s, e: rtnl.decode_rule(b, s, e, tables))]
        strict = nl.enable_strict_check()
        candidates, probed = _candidates(kernel.dst, found_rules, netns, names, tables, strict,
                                         match, probe_after)
        winner = lookup.lookup(kernel.dst, found_rules, candidates).winner
        index = next((i for i, name in names.items() if winner and name == winner.dev), 0)
        addrs = [a for a in _dump(nl, "addresses", rtnl.RTM_GETADDR, rtnl.addr_request(
            ifindex=index if strict else 0), lambda b, s, e: rtnl.decode_addr(b, s, e, names))
            if a.ifindex == index] if index else []
        neighs = [n for n in _dump(nl, "neighbours", rtnl.RTM_GETNEIGH, rtnl.neigh_request(
            ifindex=index if strict else 0), lambda b, s, e: rtnl.decode_neigh(b, s, e, names))
            if n.family in ("inet", "inet6") and n.dev == winner.dev] if winner and index else []
    ex = lookup.explain(kernel.dst, found_rules, candidates, addrs, neighs, kernel)
    if probed is not None and match is not None:
        ex.found_by = _found_by(match.table, probed, probe_after or 0)
        ex.probes = probed.asked
    return ex


class _LinkNames(dict[int, str]):
    """Interface index -> name, each asked of the kernel the first time ``get`` sees it
    (``RTM_GETLINK`` for that index, on a socket of its own): route get names a
    few interfaces, and a router has thousands (1,000: 4 ms for the full dump)."""

    def __init__(self, nl: netlink.NetlinkSocket) -> None:
        super().__init__()
        self.nl = nl

    def __enter__(self) -> _LinkNames:
        return self

    def __exit__(self, *_: object) -> None:
        self.nl.close()

    @overload
    def get(self, index: int, default: None = None, /) -> str | None: ...
    @overload
    def get(self, index: int, default: str, /) -> str: ...
    @overload
    def get(self, index: int, default: T, /) -> str | T: ...

    def get(self, index: int, default: object = None, /) -> object:
        if index not in self:
            name: str | None = None
            try:
                for buf, mtype, start, end in self.nl.dump(
                        rtnl.RTM_GETLINK, rtnl.link_get_request(index),
                        flags=netlink.NLM_F_REQUEST):
                    if mtype == rtnl.RTM_NEWLINK:
                        name = rtnl.decode_link_name(buf, start, end)[1]
            except (OSError, SocklabError):  # gone since the route was read
                pass
            if name is None:
                return default
            self[index] = name
        return self[index]


def _found_by(table: str, probed: route_probe.Probed, limit: int) -> str:
    """What the explanation of a probed table compared, in one sentence."""
    from socklab.stack import route_probe

    if not probed.asked:
        return (f"table {table} holds more than {limit:,} bytes of routes and was not read: "
                "the kernel's answer is a default route, no prefix is shorter")
    text = (f"table {table} holds more than {limit:,} bytes of routes: instead of "
            f"reading it, socklab asked the kernel for the route it picks "
            f"(RTM_F_FIB_MATCH) for {len(probed.asked)} addresses sharing the "
            "destination's first bits (one prefix length each, see probes). Each prefix "
            "shows only the route the kernel picks (its lowest metric), throw routes none")
    if probed.unseen:
        text += (f"; prefix lengths {route_probe.ranges(probed.unseen)} were not seen "
                 "(more specific routes, other tables or error routes answered)")
    return text
