"""List the sockets of this machine (or a namespace), with their owners: the socket table.

By default every kind and only connected sockets, as ss does; -a adds
listening, unconnected and TIME-WAIT sockets, -l shows only listening ones.

examples:
  socklab sockets -tan              every TCP socket, numeric (ss -tan)
  socklab sockets -tlp              listening TCP sockets and their processes (netstat -tlnp)
  socklab sockets -x -a             UNIX sockets: paths, abstract names, peers (ss -xa)
  socklab sockets -t --state time-wait --dport 443
  socklab sockets -s                counts by kind and state (ss -s)
  socklab sockets --all-netns -tl   listening TCP sockets of every namespace
  socklab --json sockets -t         the same records as JSON

classic: netstat -anp, ss -anp
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from socklab.errors import BadInput, MissingPrivilege, SocklabError

if TYPE_CHECKING:
    from socklab.socktable.filters import Query
    from socklab.socktable.model import Row, SocketRecord

T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    k = p.add_argument_group("kinds (default: all)")
    k.add_argument("-t", "--tcp", dest="kinds", action="append_const", const="tcp")
    k.add_argument("-u", "--udp", dest="kinds", action="append_const", const="udp")
    k.add_argument("-w", "--raw", dest="kinds", action="append_const", const="raw")
    k.add_argument("-x", "--unix", dest="kinds", action="append_const", const="unix")
    k.add_argument("-0", "--packet", dest="kinds", action="append_const", const="packet")
    k.add_argument("--netlink", dest="kinds", action="append_const", const="netlink")
    k.add_argument("-4", "--ipv4", action="store_true", help="IPv4 sockets only")
    k.add_argument("-6", "--ipv6", action="store_true", help="IPv6 sockets only")
    s = p.add_argument_group("states and filters")
    s.add_argument("-l", "--listening", action="store_true", help="listening sockets only")
    s.add_argument("-a", "--all", action="store_true", help="sockets in every state")
    s.add_argument("--state", action="append", metavar="STATE",
                   help="a TCP state (established, time-wait ...) or group (connected, "
                        "synchronized, bucket, big, all); repeatable")
    s.add_argument("--sport", metavar="PORT[-PORT]", help="local port or range")
    s.add_argument("--dport", metavar="PORT[-PORT]", help="remote port or range")
    s.add_argument("--src", metavar="CIDR", help="local address in this network")
    s.add_argument("--dst", metavar="CIDR", help="remote address in this network")
    s.add_argument("--pid", type=int, action="append", metavar="PID", help="owned by PID")
    s.add_argument("--process", metavar="NAME", help="owned by a process of this name")
    o = p.add_argument_group("output")
    o.add_argument("-p", "--processes", action="store_true", help="show the owning processes")
    o.add_argument("-n", "--numeric", action="store_true",
                   help="numeric ports (the default; kept for ss/netstat habits)")
    o.add_argument("-r", "--resolve", action="store_true",
                   help="name ports from /etc/services")
    o.add_argument("-e", "--extended", action="store_true", help="uid, inode, timer")
    o.add_argument("-m", "--memory", action="store_true", help="socket memory (skmem)")
    o.add_argument("-i", "--info", action="store_true", help="TCP internals (tcp_info)")
    o.add_argument("-s", "--summary", action="store_true", help="counts by kind and state")
    o.add_argument("-H", "--no-header", action="store_true", help="no header line")
    o.add_argument("--all-netns", action="store_true",
                   help="every network namespace in use, each socket tagged with its own: "
                        "its /run/netns name, pid:N for an unnamed one (its lowest pid), "
                        "'-' for the current one when it has no name; without "
                        "CAP_SYS_ADMIN only the current one is read, the others are named "
                        "on stderr")
    o.add_argument("--source", choices=("auto", "diag", "proc"), default="auto",
                   help="sock_diag netlink (diag), /proc/net (proc), or diag with /proc "
                        "fallback (auto, default)")


def run(args: argparse.Namespace) -> int:
    import gc

    from socklab.socktable import filters

    # a short-lived command that builds up to a tuple per socket: the cyclic GC
    # would re-walk them all again and again (docs/design.md)
    gc.disable()
    if args.ipv4 and args.ipv6:
        raise BadInput("-4 and -6 together: give one, or neither for both")
    query = filters.build_query(
        args.kinds, ipv4=args.ipv4, ipv6=args.ipv6, listening=args.listening,
        all_states=args.all or args.summary, states=args.state, sport=args.sport,
        dport=args.dport, src=args.src, dst=args.dst, pids=args.pid, process=args.process)
    if not (args.summary or args.json):
        _table(args, query, multi_kind=len(query.netids) > 1)
        return 0
    records = _records(query, args)
    if args.summary:
        return _summary(records, args.json)
    extended = args.info or args.memory or args.extended
    from socklab.cli import sockets_json

    sockets_json.write(records, plain=not (extended or args.processes or args.all_netns))
    return 0


def _debug_sources(records: Iterable[T], sources: dict[str, str]) -> Iterable[T]:
    yield from records
    for kind, src in sources.items():
        sys.stderr.write(f"socklab: debug: {kind} sockets from {src}\n")


def _summary(records: Iterable[SocketRecord], as_json: bool) -> int:
    from socklab.cli import render

    counts: dict[str, Counter[str]] = {}
    for r in records:
        counts.setdefault(r.netid, Counter())[r.state] += 1
    if as_json:
        render.write_json({k: {"total": sum(c.values()), "states": dict(c)}
                           for k, c in counts.items()})
        return 0
    rows = [{"kind": k, "total": sum(c.values()),
             "states": ", ".join(f"{s} {n}" for s, n in c.most_common())}
            for k, c in counts.items()]
    rows.append({"kind": "total", "total": sum(sum(c.values()) for c in counts.values()),
                 "states": ""})
    render.emit(rows, [render.Column("kind", "KIND"), render.Column("total", "TOTAL", right=True),
                       render.Column("states", "STATES", shrink=True)], False)
    return 0


def _owners(r: SocketRecord) -> str:
    """ss's process column of a record."""
    return _owners_text(r.processes) if r.processes else ""


def _owners_text(procs: Sequence[tuple[int, str, int]]) -> str:
    """ss's process column: ``users:(("name",pid=P,fd=F),...)``. The owners come
    in the order /proc is read; ss prepends each one it finds (misc/ss.c
    ``user_ent_add``), so it shows them last found first: the same order here."""
    if len(procs) == 1:  # most sockets: one descriptor in one process
        pid, name, fd = procs[0]
        return f'users:(("{name}",pid={pid},fd={fd}))'
    return "users:(" + ",".join(f'("{name}",pid={pid},fd={fd})'
                                for pid, name, fd in reversed(procs)) + ")"


def _details(r: SocketRecord, args: argparse.Namespace) -> str:
    parts = []
    if args.extended:
        if r.uid is not None:
            parts.append(f"uid:{r.uid}")
        parts.append(f"ino:{r.inode}")
        if r.timer is not None:
            parts.append(f"timer:({r.timer.name},{r.timer.expires_ms}ms,{r.timer.retrans})")
    if args.memory and r.memory is not None:
        m = r.memory
        parts.append(f"skmem:(r{m.rmem_alloc},rb{m.rcvbuf},t{m.wmem_alloc},tb{m.sndbuf},"
                     f"f{m.fwd_alloc},w{m.wmem_queued},o{m.optmem},bl{m.backlog},d{m.drops})")
    if args.info and r.tcp_info is not None:
        i = r.tcp_info
        parts.append(f"{i.congestion or '?'} rto:{i.rto / 1000:g} rtt:{i.rtt / 1000:g}/"
                     f"{i.rttvar / 1000:g} mss:{i.snd_mss} cwnd:{i.snd_cwnd}"
                     + (f" ssthresh:{i.snd_ssthresh}" if i.snd_ssthresh < 0x7FFFFFFF else "")
                     + f" bytes_sent:{i.bytes_sent} bytes_acked:{i.bytes_acked}"
                     f" bytes_received:{i.bytes_received} retrans:{i.retransmits}/"
                     f"{i.total_retrans} delivery_rate:{i.delivery_rate * 8}bps")
    return " ".join(parts)


def _table(args: argparse.Namespace, query: Query, multi_kind: bool) -> None:
    """ss's layout: each column as wide as its widest cell.

    Rows are plain tuples (``socktable.model.Row``, then any extra column);
    the plain view (no -p, -e, -m, -i, -r, --all-netns) takes them straight
    from the kernel's replies (``table.rows``), with no record built in between,
    and formats them while the kernel is still dumping (:func:`_write_rows`);
    ``-p`` alone too, with the owners joined by inode (:func:`_owned_rows`).
    """
    details = args.extended or args.memory or args.info
    # (header, the row's field, right-aligned); the Netid field is always in the
    # row, and printed as nothing ("%.0s") when the listing has one kind only
    columns = [("Netid", 0, False), ("State", 1, False), ("Recv-Q", 2, True),
               ("Send-Q", 3, True), ("Local Address:Port", 4, False),
               ("Peer Address:Port", 5, False)]
    if not (details or args.processes or args.resolve or args.all_netns):
        rows: Iterable[tuple[object, ...]] = _plain_rows(query, args)
    elif args.processes and not (details or args.resolve or args.all_netns
                                 or query.needs_owners):
        rows = _owned_rows(query, args)  # -p alone: rows and owners, no record
        columns.append(("Process", 6, False))
    else:
        from socklab.socktable.model import row_of

        recs = list(_records(query, args))
        rows = _named_rows(recs) if args.resolve else list(map(row_of, recs))
        extra: list[tuple[str, list[str]]] = []
        if args.all_netns:
            extra.append(("Netns", [_shown(r.netns) if r.netns else "-" for r in recs]))
        if args.processes:
            extra.append(("Process", [_owners(r) for r in recs]))
        if details:
            extra.append(("Details", [_details(r, args) for r in recs]))
        if extra:
            cells = zip(*(c for _h, c in extra), strict=True)
            rows = [row + more for row, more in zip(rows, cells, strict=True)]
        columns += [(head, 6 + j, False) for j, (head, _c) in enumerate(extra)]
    hidden = ({0} if not multi_kind else set()) | ({1} if _one_state(query) else set())
    _write_rows(rows, columns, hidden, header=not args.no_header)


# The states ss lists by default for each kind (misc/ss.c default_dbs): connected
# ones for TCP and UNIX, ESTABLISHED for UDP and RAW, CLOSE and ESTABLISHED for
# PACKET, CLOSE for NETLINK.
_ESTAB_ONLY = frozenset({"udp", "raw"})


def _one_state(query: Query) -> bool:
    """Whether the listing can hold one state only: ss then leaves the State
    column out (``ss -u``, ``ss --netlink``, ``ss -t state established``)."""
    from socklab.socktable.model import TCP_STATES

    if query.states is not None:  # SYN-RECV is two numbers, one state
        return len({TCP_STATES.get(n, n) for n in query.states}) == 1
    netids = query.netids
    return bool(netids <= _ESTAB_ONLY or netids == {"nl"})


def _plain_rows(query: Query, args: argparse.Namespace) -> Iterable[Row]:
    from socklab.socktable import table

    sources: dict[str, str] = {}
    rows: Iterable[Row] = table.rows(query, source=args.source, sources=sources)
    return _debug_sources(rows, sources) if args.debug else rows


def _owned_rows(query: Query, args: argparse.Namespace) -> Iterable[tuple[object, ...]]:
    """The plain rows with ss's process column, the owners' text made once per
    socket inode during one pass over /proc (``table.owner_texts``) and joined to each
    row by its inode as the kernel's replies are read (``table.owned_rows``)."""
    from socklab.socktable import table

    texts = table.owner_texts()  # _owners_text of each inode's owners, made during the pass
    sources: dict[str, str] = {}
    rows: Iterable[tuple[object, ...]] = table.owned_rows(texts, query, source=args.source,
                                                          sources=sources)
    return _debug_sources(rows, sources) if args.debug else rows


def _records(query: Query, args: argparse.Namespace) -> Iterable[SocketRecord]:
    from socklab.socktable import table

    skipped: list[tuple[str, SocklabError]] = []
    sources: dict[str, str] = {}
    records: Iterable[SocketRecord] = table.sockets(
        query=query, processes=args.processes, extended=args.info or args.memory or args.extended,
        source=args.source, all_netns=args.all_netns,
        skipped=lambda label, exc: skipped.append((label, exc)), sources=sources)
    if args.all_netns:
        records = _skipped_notes(records, skipped, args.debug)
    return _debug_sources(records, sources) if args.debug else records


def _skipped_notes(records: Iterable[SocketRecord], skipped: list[tuple[str, SocklabError]],
                   debug: bool) -> Iterable[SocketRecord]:
    """--all-netns: after the listing, one stderr line naming the namespaces that
    could not be entered (and the capability that would), and with --debug one
    line for each namespace that vanished while listing (deleted, or its last
    process gone): the listing went on without them."""
    yield from records
    unreadable = [_shown(label) for label, exc in skipped if isinstance(exc, MissingPrivilege)]
    if unreadable:
        sys.stderr.write(f"socklab: warning: {len(unreadable)} network namespace"
                         f"{'s' if len(unreadable) > 1 else ''} not read (entering another "
                         f"namespace needs CAP_SYS_ADMIN: run as root): "
                         f"{', '.join(unreadable)}\n")
    if debug:
        for _label, exc in skipped:
            if not isinstance(exc, MissingPrivilege):
                sys.stderr.write(f"socklab: debug: skipped, gone during the listing: {exc}\n")


def _shown(label: str) -> str:
    """A namespace's label for one stderr line or table cell: a /run/netns name may
    hold anything but '/' and NUL, spaces and newlines included (quoted then)."""
    return label if label.isprintable() and " " not in label and label else repr(label)


def _named_rows(recs: list[SocketRecord]) -> list[Row]:
    """Rows with ports named from /etc/services and NETLINK protocols by name (-r),
    as ss without -n."""
    from socklab import names as procfs  # read_services: /etc/services

    services = procfs.read_services()
    return [(r.netid, r.state, r.recv_q, r.send_q,
             _named(r.named_local(), r.local_port, r.netid, services),
             _named(r.peer(), r.peer_port, r.netid, services)) for r in recs]


def _write_rows(rows: Iterable[tuple[object, ...]], columns: list[tuple[str, int, bool]],
                hidden: set[int], header: bool) -> None:
    """Write the rows under ``columns`` (header, field, right-aligned), each padded
    column as wide as its widest cell (and its header), the last one unpadded;
    the fields in ``hidden`` (Netid, State) are left out, as ss leaves them out
    when they would say the same on every line.

    Rows are formatted 4,096 at a time as they come, with the widths seen so
    far: while this thread formats, the kernel fills the next chunks of the
    dump (``NetlinkSocket.dump_chunks`` reads ahead in a thread), and a
    60,000-row table is the benchmark. A batch formatted narrower than the
    final widths is formatted again at the end (the widths settle within the
    first batches, so that is rare). The queues are numbers, or None where the
    source has none (/proc): printed as "-".
    """
    from itertools import islice
    from operator import itemgetter

    padded = columns[:-1]
    widths = [len(head) if header else 0 for head, _i, _r in padded]

    # every row holds every field: "%.0s" prints nothing of a hidden one
    def fmt_for(ws: list[int]) -> str:
        return "".join("%.0s" if i in hidden else f"%{'' if right else '-'}{w}s "
                       for w, (_h, i, right) in zip(ws, padded, strict=True)) + "%s"

    done: list[tuple[str, list[tuple[object, ...]], str]] = []  # (format, rows, their lines)
    it = iter(rows)
    while True:
        # a row's missing queue becomes "-" (the cell's text): cells, not Row
        batch: list[tuple[object, ...]] = list(islice(it, 4096))
        if not batch:
            break
        for k, (_head, i, right) in enumerate(padded):
            if i in hidden:
                continue
            cells = map(itemgetter(i), batch)
            if right:
                numbers = list(cells)
                if None in numbers:
                    batch = [(*r[:i], "-", *r[i + 1:]) if r[i] is None else r for r in batch]
                    numbers = [q for q in numbers if q is not None] or [0]
                widest = len(str(max(numbers)))
            else:
                widest = max(map(len, cells))
            if widest > widths[k]:
                widths[k] = widest
        fmt = fmt_for(widths)
        done.append((fmt, batch, "\n".join(map(fmt.__mod__, batch))))
    fmt = fmt_for(widths)
    out = sys.stdout
    if header:
        heads = ["" if i in hidden else head for head, i, _r in columns]
        out.write(fmt % tuple(heads) + "\n")
    for used, batch, text in done:
        out.write((text if used == fmt else "\n".join(map(fmt.__mod__, batch))) + "\n")


def _named(text: str, port: int | None, netid: str, services: dict[tuple[int, str], str]) -> str:
    if not port:
        return text
    name = services.get((port, netid))
    if name is None:
        return text
    return text[: text.rfind(":") + 1] + name
