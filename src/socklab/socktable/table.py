"""``socklab.sockets()``: the socket table, from sock_diag, else from /proc/net.

Rules:

1. Ask the kernel through sock_diag netlink first (inet_diag for TCP/UDP/RAW,
   unix_diag, packet_diag, netlink_diag), with the state bitmask, family and
   protocol filtered in the kernel; fall back to parsing /proc/net for a kind
   whose diag module is missing (ENOENT). :func:`sockets`' ``sources`` says which
   source served which kind.
2. Records stream out one by one (a generator): memory stays flat however
   many sockets there are.
3. Owners come from one pass over /proc/*/fd, made only when asked for
   (``processes=True`` or a pid/process filter), before the dump.
4. A socket the kernel describes in a way socklab cannot read (a sock_diag
   message or a /proc/net line: :class:`~socklab.errors.Malformed`) is left
   out and the listing goes on with the others; ``sources`` counts
   them and quotes the first. A reply whose length cannot be followed to the
   next message ends the listing with Malformed (what follows is lost).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NamedTuple

from socklab.errors import BadInput, Malformed, NetworkError, SocklabError, from_oserror
from socklab.kernel import netlink, netns, procfs
from socklab.socktable import diag, procsockets
from socklab.socktable.filters import Query, build_query
from socklab.socktable.model import Process, Row, SocketRecord, row_of

__all__ = ["owned_rows", "owner_texts", "owners", "rows", "sockets"]

Decoder = Callable[[memoryview, int], tuple[list[Any], bool]]

def _source(name: str, bad: list[Malformed]) -> str:
    if not bad:
        return name
    return f"{name} ({len(bad)} unreadable left out; first: {bad[0]})"


class _Request(NamedTuple):
    kind: str  # what ``sources`` names: tcp/inet, unix, packet ...
    payload: bytes  # the sock_diag request
    decode: Decoder  # its chunk decoder
    procname: str  # the /proc/net file to read instead
    rows: bool  # the decoder makes table rows, not records
    checked: bool  # the kernel filters state (packet and netlink: Python must)
    bad: list[Malformed]  # the messages or lines left out (rule 4)


def _inet_requests(q: Query, netid: str, ext: int, as_rows: bool,
                   by_inode: Mapping[int, str] | None) -> list[_Request]:
    proto = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "raw": socket.IPPROTO_RAW}[netid]
    out = []
    for fam, af, procname in (("inet", socket.AF_INET, netid), ("inet6", socket.AF_INET6,
                                                                 netid + "6")):
        if fam not in q.families:
            continue
        rows = as_rows and netid != "raw"
        bad: list[Malformed] = []
        decode = diag.inet_row_decoder(netid, af, bad.append, by_inode) if rows else \
            diag.inet_chunk_decoder(netid, bool(ext), bad.append)
        raw_proto = socket.IPPROTO_RAW if netid == "raw" else 0
        # ports filtered in the kernel too (not for RAW, whose "port" is the protocol)
        code = diag.port_bytecode(q.sport, q.dport) if netid != "raw" else b""
        payload = diag.inet_request(af, proto, q.state_mask(), ext if netid == "tcp" else
                                    ext & diag.EXT_SKMEM, bytecode=code,
                                    raw_protocol=raw_proto)
        out.append(_Request(f"{netid}/{fam}", payload, decode, procname, rows, True, bad))
    return out


def _requests(q: Query, extended: bool, as_rows: bool = False,
              by_inode: Mapping[int, str] | None = None) -> list[_Request]:
    """What to ask sock_diag for each kind.

    ``as_rows``: TCP and UDP dumps decode straight to table rows (see :func:`rows`)."""
    ext = (diag.EXT_INFO | diag.EXT_CONG | diag.EXT_SKMEM) if extended else 0
    reqs: list[_Request] = []
    # ss's order (misc/ss.c main): netlink, packet, unix, raw, udp, tcp.
    # PACKET and NETLINK queues are memory counts (ss asks for them always): the
    # memory is dropped from the records again unless asked for
    bad: list[Malformed]
    if "nl" in q.netids:
        bad = []
        reqs.append(_Request("netlink", diag.netlink_request(diag.NDIAG_SHOW_MEMINFO),
                             _chunks(diag.decode_netlink, bad, extended), "netlink", False, False,
                             bad))
    if q.netids & {"p_raw", "p_dgr"}:
        bad = []
        reqs.append(_Request("packet",
                             diag.packet_request(diag.PACKET_SHOW_INFO | diag.PACKET_SHOW_MEMINFO),
                             _chunks(diag.decode_packet, bad, extended), "packet", False, False,
                             bad))
    if q.netids & {"u_str", "u_dgr", "u_seq"}:
        show = diag.UDIAG_SHOW_NAME | diag.UDIAG_SHOW_PEER | diag.UDIAG_SHOW_RQLEN | \
            diag.UDIAG_SHOW_UID | (diag.UDIAG_SHOW_MEMINFO if extended else 0)
        bad = []
        reqs.append(_Request("unix", diag.unix_request(show, q.state_mask()),
                             _chunks(diag.decode_unix, bad, True), "unix", False, True, bad))
    for netid in ("raw", "udp", "tcp"):
        if netid in q.netids:
            reqs += _inet_requests(q, netid, ext, as_rows, by_inode)
    return reqs


def _chunks(decode: Callable[[memoryview, int, int], SocketRecord], bad: list[Malformed],
            memory: bool) -> Decoder:
    if not memory:
        def decode_lean(buf: memoryview, start: int, end: int) -> SocketRecord:
            return decode(buf, start, end)._replace(memory=None)

        return netlink.chunk_decoder(decode_lean, diag.SOCK_DIAG_BY_FAMILY, bad.append)
    return netlink.chunk_decoder(decode, diag.SOCK_DIAG_BY_FAMILY, bad.append)


def _parse_proc(procname: str, text: str, bad: list[Malformed]) -> Iterator[SocketRecord]:
    if procname == "unix":
        return procsockets.parse_unix(text, bad.append)
    if procname == "packet":
        return procsockets.parse_packet(text, bad.append)
    if procname == "netlink":
        return procsockets.parse_netlink(text, bad.append)
    return procsockets.parse_inet(text, procname.rstrip("6"), bad.append, procname)


def _one_namespace(q: Query, extended: bool, source: str,
                   enter: Callable[[], AbstractContextManager[object]],
                   keep: Callable[[SocketRecord], bool] | None,
                   sources: dict[str, str], as_rows: bool = False,
                   by_inode: Mapping[int, str] | None = None) -> Iterator[Any]:
    """Records of one namespace: sockets and files are opened inside ``enter()``,
    read outside (a netlink socket stays in the namespace it was made in).

    ``keep`` checks, in Python, the records the kernel did not filter: those
    read from /proc, and PACKET and NETLINK ones (no state filter in their
    diag). ``as_rows``: table rows (:func:`rows`) instead of records, with
    ``by_inode``'s text as a seventh field when given (:func:`owned_rows`).
    """
    reqs = _requests(q, extended, as_rows, by_inode)
    to_row = _row_maker(by_inode)
    nl: netlink.NetlinkSocket | None = None
    texts: dict[str, str | None] = {}
    ifnames: dict[int, str] = {}
    with enter():
        if any(req.kind == "packet" for req in reqs):
            ifnames = _interface_names()
        if source != "proc":
            try:
                nl = netlink.NetlinkSocket(netlink.NETLINK_SOCK_DIAG)
            except OSError as exc:
                if source == "diag":
                    raise from_oserror(exc, "open sock_diag netlink socket") from exc
        if nl is None:
            texts = {req.procname: procfs.read_net(req.procname) for req in reqs}
    try:
        for req in reqs:
            if nl is not None:
                try:
                    items = _dump(nl, req.payload, req.decode)
                    if req.kind == "packet":
                        items = _with_interface_names(items, ifnames)
                    if keep is not None and not req.checked:
                        items = filter(keep, items)
                    yield from items if req.rows or not as_rows else map(to_row, items)
                    sources[req.kind] = _source("sock_diag", req.bad)
                    continue
                except OSError as exc:
                    if source == "diag" or exc.errno not in (errno.ENOENT, errno.EOPNOTSUPP,
                                                             errno.EINVAL):
                        raise NetworkError(f"sock_diag dump of {req.kind} sockets", exc.errno) \
                            from exc
                with enter():
                    text = procfs.read_net(req.procname)
            else:
                text = texts.get(req.procname)
            sources[req.kind] = f"/proc/net/{req.procname}" if text is not None else \
                "unavailable"
            if text is not None:
                req.bad.clear()  # what sock_diag left out before it failed
                records = _parse_proc(req.procname, text, req.bad)
                if req.kind == "packet":
                    records = _with_interface_names(records, ifnames)
                if keep is not None:
                    records = filter(keep, records)
                yield from map(to_row, records) if as_rows else records
                sources[req.kind] = _source(f"/proc/net/{req.procname}", req.bad)
    finally:
        if nl is not None:
            nl.close()


def _interface_names() -> dict[int, str]:
    """Index -> name of the interfaces of the namespace the thread is in (an index
    means nothing outside its namespace: read where the sockets are)."""
    try:
        return dict(socket.if_nameindex())
    except OSError:
        return {}


def _with_interface_names(records: Iterable[SocketRecord],
                          names: dict[int, str]) -> Iterator[SocketRecord]:
    """PACKET records with the name of the interface they are bound to, as ss
    prints it (``ip:eth0``); the index stays in ``interface``, and is the name
    when the interface is gone."""
    for rec in records:
        name = names.get(rec.interface) if rec.interface else None
        yield rec._replace(local_address=name) if name is not None else rec


def _dump(nl: netlink.NetlinkSocket, payload: bytes, decode: Decoder) -> Iterator[SocketRecord]:
    return nl.dump_chunks(diag.SOCK_DIAG_BY_FAMILY, payload, decode, prefetch=True)


def sockets(*kinds: str, query: Query | None = None, listening: bool = False,
            all_states: bool = False, states: list[str] | tuple[str, ...] | None = None,
            ipv4: bool = False, ipv6: bool = False, sport: str | int | None = None,
            dport: str | int | None = None, src: str | None = None, dst: str | None = None,
            pids: list[int] | tuple[int, ...] | None = None, process: str | None = None,
            processes: bool = False, extended: bool = False, source: str = "auto",
            netns_name: str | None = None, all_netns: bool = False,
            skipped: Callable[[str, SocklabError], None] | None = None,
            sources: dict[str, str] | None = None) -> Iterator[SocketRecord]:
    """The sockets that match, in ss's order: by kind (netlink, packet, unix, raw,
    udp, tcp), IPv4 before IPv6, each in the kernel's order.

    ``socklab.sockets("tcp", listening=True)`` is ``ss -tl``; the filter words
    are those of :func:`socklab.socktable.filters.build_query` (a prepared
    ``query`` may be passed instead).

    ``processes``: fill ``SocketRecord.processes`` (one pass over /proc/*/fd).
    ``extended``: timers, socket memory and, for TCP, tcp_info and the congestion
    algorithm. ``source``: ``auto`` (sock_diag, /proc when a module is missing),
    ``diag`` or ``proc``. ``netns_name``: list a named namespace's sockets;
    ``all_netns``: every namespace in use, each record tagged with its label
    (:func:`socklab.kernel.netns.every`: a ``/run/netns`` name, ``pid:N``, or
    ``""`` for the current namespace when it has no name). The current one is
    read where it is, without privilege; one that vanishes during the listing
    (NotFound) or may not be entered (MissingPrivilege: CAP_SYS_ADMIN) is
    skipped, ``skipped(label, error)`` is told, and the listing goes on.

    Raises NotFound (unknown namespace), MissingPrivilege (entering one),
    NetworkError (the kernel refused the dump).
    """
    if source not in ("auto", "diag", "proc"):
        raise BadInput(f"unknown source {source!r} (auto, diag or proc)")
    q = query if query is not None else build_query(
        list(kinds), ipv4=ipv4, ipv6=ipv6, listening=listening, all_states=all_states,
        states=states, sport=sport, dport=dport, src=src, dst=dst, pids=pids, process=process)
    owners: dict[int, list[tuple[int, str, int]]] | None = None
    if processes or q.needs_owners:
        owners = procfs.socket_owners()
    found = sources if sources is not None else {}
    spaces: Iterable[tuple[str | None, Callable[[], AbstractContextManager[object]]]]
    if all_netns:
        spaces = netns.each(skipped)
    elif netns_name is not None:
        netns.path(netns_name)  # NotFound early, before any work
        spaces = [(None, lambda: netns.entered(netns_name))]
    else:
        spaces = [(None, nullcontext)]
    # Kind, family, state (but for PACKET and NETLINK) and ports were filtered by
    # the kernel; addresses are checked here for every record, the rest in
    # _one_namespace for what the kernel did not filter (and what /proc gave).
    check_all = q.has_address_filters
    for label, enter in spaces:
        recs = _one_namespace(q, extended, source, enter, None if check_all else q.matches,
                              found)
        if not (check_all or owners is not None or all_netns):
            yield from recs
            continue
        for rec in recs:
            if check_all and not q.matches(rec):
                continue
            if owners is not None:
                procs = owners.get(rec.inode)
                rec = rec._replace(processes=tuple(Process(*p) for p in procs) if procs else ())
                if not q.matches_owner(rec):
                    continue
            if all_netns:
                rec = rec._replace(netns=label)
            yield rec


def rows(query: Query | None = None, source: str = "auto",
         sources: dict[str, str] | None = None) -> Iterator[Row]:
    """The plain table's rows (:data:`~socklab.socktable.model.Row`) of the
    sockets that match, in :func:`sockets`' order: ``row_of`` of each record.

    For ``socklab sockets -tan`` and its like, the view most asked for: when
    the kernel does all the filtering (no address, owner or namespace filter),
    TCP and UDP are decoded straight into rows, and no record is built.
    """
    return _rows(query, source, sources, None)


OwnedRow = tuple[str, str, int | None, int | None, str, str, str]
"""A table row and a seventh text looked up by the socket's inode (:func:`owned_rows`)."""


def owned_rows(by_inode: Mapping[int, str], query: Query | None = None, source: str = "auto",
               sources: dict[str, str] | None = None) -> Iterator[OwnedRow]:
    """:func:`rows`, each with ``by_inode.get(its socket's inode, "")`` appended:
    ``socklab sockets -tanp`` passes the owners' text of each inode (from
    :func:`owners`), and TCP and UDP rows get it while their replies are read,
    still with no record. A query with owner filters (``--pid``) goes through
    :func:`sockets`, which applies them."""
    return _rows(query, source, sources, by_inode)


def owner_texts() -> dict[int, str]:
    """Socket inode -> ss's process column, ``users:(("name",pid=P,fd=F),...)``:
    :func:`owners` formatted as ss shows them (the last found first), made
    during the one pass over /proc (:func:`~socklab.kernel.procfs.socket_owner_texts`);
    what :func:`owned_rows` joins to the rows of ``sockets -p``."""
    return procfs.socket_owner_texts()


def owners() -> dict[int, list[tuple[int, str, int]]]:
    """Socket inode -> its owners ``(pid, command name, fd)``, in the order /proc is
    read: one pass over /proc/*/fd (rule 3; what ``processes=True`` fills in)."""
    return procfs.socket_owners()


def _row_maker(by_inode: Mapping[int, str] | None) -> Callable[[SocketRecord], Any]:
    if by_inode is None:
        return row_of
    return lambda r: (*row_of(r), by_inode.get(r.inode, ""))


def _rows(query: Query | None, source: str, sources: dict[str, str] | None,
          by_inode: Mapping[int, str] | None) -> Iterator[Any]:
    q = query if query is not None else build_query([])
    if source not in ("auto", "diag", "proc"):
        raise BadInput(f"unknown source {source!r} (auto, diag or proc)")
    if q.has_address_filters or q.needs_owners:
        yield from map(_row_maker(by_inode), sockets(query=q, source=source, sources=sources))
        return
    found = sources if sources is not None else {}
    yield from _one_namespace(q, False, source, nullcontext, q.matches, found, as_rows=True,
                              by_inode=by_inode)
