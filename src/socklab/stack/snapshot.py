"""Snapshots of the stack and their differences: "what did that ``ifconfig`` change?",
"did this leave the host as it was?".

A snapshot is a JSON object: ``links``, ``addresses``, ``routes`` (every table),
``rules``, ``neighbours`` (as :mod:`socklab.stack.read` returns them, one dict
per record) and ``sysctl`` (every readable ``net.*`` key and its text).

Rules of :func:`diff`:

1. Objects are matched by what names them, not by position: a link by its
   name, an address by device, address and length, a route by table, type,
   destination, metric and TOS (and device for IPv6, whose routes are per
   device), a rule by all its selectors, a neighbour by device and address, a
   sysctl by its key.
2. Counters and timers are not differences: link statistics, address
   lifetimes, and the states a neighbour entry moves through on its own
   timers (REACHABLE, STALE, DELAY, PROBE) are left out; PERMANENT, NOARP,
   FAILED and INCOMPLETE are compared. Sysctls are compared when both
   snapshots have them.
3. A snapshot read back (:func:`load`) is checked: a file that is not one
   raises BadInput, naming what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

from socklab.errors import BadInput, SocklabError
from socklab.kernel import netns as knetns
from socklab.kernel import procfs
from socklab.stack import devconf, read, sysctl
from socklab.stack.model import Route

__all__ = ["KINDS", "Difference", "diff", "load", "net_sysctls", "take"]

FORMAT = "socklab-snapshot/1"
KINDS = ("links", "addresses", "routes", "rules", "neighbours", "sysctl")
MAX_BYTES = 256 << 20  # a namespace of 10,000 routes is a few MiB

Json = dict[str, object]

# rule 2: fields that count or time, never differences
IGNORED = {
    "links": {"stats"},
    "addresses": {"valid_lft", "preferred_lft"},
    "routes": set(),
    "rules": set(),
    "neighbours": set(),
}
TIMED_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE"}
# sysctls that count, not configure
IGNORED_SYSCTLS = {"net.netfilter.nf_conntrack_count"}


def _enter(netns: str | None) -> AbstractContextManager[object]:
    return knetns.entered(netns) if netns else nullcontext()


def take(*, netns: str | None = None, sysctls: bool = True) -> Json:
    """The stack of this (or the named) namespace, as a JSON-ready dict; without
    ``sysctls``, ``"sysctl"`` is null (and :func:`diff` then leaves them out)."""
    links = read.links(netns=netns, source="netlink")
    settings: dict[str, str] | None = None
    if sysctls:
        with _enter(netns):  # /proc/sys/net is the namespace of the thread that opens it
            settings = net_sysctls()
    return {
        "format": FORMAT,
        "links": [_record(dict(r._asdict())) for r in links],
        "addresses": [_record(r._asdict()) for r in read.addresses(netns=netns,
                                                                    source="netlink")],
        "routes": _records(read.routes(netns=netns, source="netlink"), Route),
        "rules": [_record(r._asdict()) for r in read.rules(netns=netns)],
        "neighbours": [_record(r._asdict()) for r in read.neighbours(netns=netns,
                                                                     source="netlink")],
        "sysctl": settings,
    }


def net_sysctls(source: str = "netlink") -> dict[str, str]:
    """Every readable ``net.*`` key of the calling thread's namespace and its text:
    the per-device ones from rtnetlink (:mod:`socklab.stack.devconf`, the same
    texts, 40,000 files fewer to read with 300 interfaces), or all from /proc/sys
    with ``source="proc"`` or where rtnetlink cannot be read."""
    if source == "netlink":
        try:
            return devconf.net_sysctls()
        except OSError:
            pass
    return {sysctl.path_to_key(path): text for path, text in procfs.read_sysctl_subtree("net")
            if path.rsplit("/", 1)[-1] not in sysctl.DEPRECATED}


def _records(items: Iterable[Route], cls: type[Route]) -> list[Json]:
    """:func:`_record` of each route, the fields that hold tuples (by the class's
    annotations) converted and the others taken as they are: 10,000 routes without
    a type check per field."""
    fields = cls._fields
    tuples = [i for i, name in enumerate(fields) if "tuple" in str(cls.__annotations__[name])]
    out: list[Json] = []
    for item in items:
        values: list[object] = list(item)
        for i in tuples:
            value = values[i]
            if isinstance(value, tuple):
                values[i] = [list(v) if type(v) is tuple else v for v in value]
        out.append(dict(zip(fields, values, strict=True)))
    return out


def _record(d: dict[str, object]) -> Json:
    """A record as JSON values (in place): tuples become lists, as a snapshot read back
    has them (so a live snapshot and a loaded one compare equal), nested records dicts."""
    for key, value in d.items():
        if not isinstance(value, tuple):
            continue
        as_dict = getattr(value, "_asdict", None)  # a nested record (a link's stats)
        d[key] = dict(as_dict()) if as_dict is not None else \
            [list(v) if type(v) is tuple else v for v in value]
    return d


def load(data: bytes, name: str = "snapshot") -> Json:
    """A snapshot read back from its JSON (rule 3). Raises BadInput."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"{name}: larger than {MAX_BYTES >> 20} MiB; not a socklab snapshot")
    try:
        snap = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"{name}: not JSON ({exc})") from None
    if not isinstance(snap, dict) or snap.get("format") != FORMAT:
        raise BadInput(f"{name}: not a socklab snapshot (no \"format\": \"{FORMAT}\"; "
                       f"make one with 'socklab snapshot > FILE')")
    for kind in KINDS[:-1]:
        items = snap.get(kind)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BadInput(f"{name}: {kind!r} is not a list of objects")
    settings = snap.get("sysctl")
    if settings is not None and (not isinstance(settings, dict)
                                 or not all(isinstance(v, str) for v in settings.values())):
        raise BadInput(f"{name}: 'sysctl' is not an object of strings (or null)")
    return snap


class Difference(NamedTuple):
    """One difference: ``change`` is added, removed or changed; ``fields`` maps each
    changed field to its (before, after) values."""

    change: str
    kind: str  # links, addresses, routes, rules, neighbours, sysctl
    key: str  # what names the object ("v0", "main 10.0.0.0/8 metric 0", ...)
    before: object = None
    after: object = None
    fields: dict[str, tuple[object, object]] | None = None


def _g(d: Json, field: str) -> str:
    value = d.get(field)
    return "" if value is None else str(value)


KEYS: dict[str, Callable[[Json], str]] = {
    "links": lambda d: _g(d, "name"),
    "addresses": lambda d: f"{_g(d, 'ifname')} {_g(d, 'local')}/{_g(d, 'prefixlen')}",
    "routes": lambda d: " ".join(x for x in (
        _g(d, "table"), _g(d, "type"), _g(d, "dst"), f"metric {_g(d, 'metric')}",
        f"tos {_g(d, 'tos')}" if d.get("tos") else "",
        f"dev {_g(d, 'dev')}" if d.get("family") == "inet6" else "") if x),
    "rules": lambda d: " ".join(x for x in (
        _g(d, "family"), _g(d, "priority"), f"from {_g(d, 'src')}", f"to {_g(d, 'dst')}",
        f"iif {_g(d, 'iif')}" if d.get("iif") else "",
        f"oif {_g(d, 'oif')}" if d.get("oif") else "",
        f"fwmark {_g(d, 'fwmark')}" if d.get("fwmark") is not None else "",
        _g(d, "action"), _g(d, "table")) if x),
    "neighbours": lambda d: f"{_g(d, 'dev')} {_g(d, 'dst')}",
}


def _comparable(kind: str, d: Json) -> Json:
    out = {k: v for k, v in d.items() if k not in IGNORED[kind]}
    if kind == "neighbours":
        state = out.get("state")
        if isinstance(state, list) and set(map(str, state)) <= TIMED_STATES:
            out["state"] = ["(timed)"]  # rule 2: the entry's own timers move it
    return out


def _index(kind: str, items: Iterable[Json]) -> dict[str, Json]:
    out: dict[str, Json] = {}
    key = KEYS[kind]
    for item in items:
        k = key(item)
        n = 2
        base = k
        while k in out:  # two objects the key cannot tell apart: keep both
            k = f"{base} #{n}"
            n += 1
        out[k] = item
    return out


def diff(before: Json, after: Json) -> list[Difference]:
    """What changed from ``before`` to ``after`` (rules 1 and 2), in the order of KINDS."""
    out: list[Difference] = []
    for kind in KINDS[:-1]:
        old = _index(kind, _items(before, kind))
        new = _index(kind, _items(after, kind))
        for k, item in old.items():
            if k not in new:
                out.append(Difference("removed", kind, k, before=item))
        for k, item in new.items():
            if k not in old:
                out.append(Difference("added", kind, k, after=item))
                continue
            a, b = _comparable(kind, old[k]), _comparable(kind, item)
            fields = {f: (a.get(f), b.get(f)) for f in sorted(set(a) | set(b))
                      if a.get(f) != b.get(f)}
            if fields:
                out.append(Difference("changed", kind, k, old[k], item, fields))
    if before.get("sysctl") is None or after.get("sysctl") is None:
        return out  # a snapshot taken without them (snapshot --no-sysctl)
    old_s, new_s = _settings(before), _settings(after)
    # the per-device keys of a link added or removed go with it (reported once, as the link)
    gone = {d.key.replace(".", "/") for d in out if d.kind == "links" and d.change != "changed"}
    for key in sorted(set(old_s) | set(new_s)):
        if key in IGNORED_SYSCTLS or _device_key(key) in gone:
            continue
        if key not in new_s:
            out.append(Difference("removed", "sysctl", key, before=old_s[key]))
        elif key not in old_s:
            out.append(Difference("added", "sysctl", key, after=new_s[key]))
        elif old_s[key] != new_s[key]:
            out.append(Difference("changed", "sysctl", key, old_s[key], new_s[key],
                                  {"value": (old_s[key], new_s[key])}))
    return out


def _device_key(key: str) -> str | None:
    """The device of ``net.ipv4.conf.DEV.x`` / ``net.ipv6.neigh.DEV.x``, else None."""
    parts = key.split(".")
    if len(parts) >= 5 and parts[0] == "net" and parts[2] in ("conf", "neigh"):
        return parts[3]
    return None


def _items(snap: Json, kind: str) -> list[Json]:
    items = snap.get(kind)
    if not isinstance(items, list):
        raise SocklabError(f"snapshot without {kind}")
    return [i for i in items if isinstance(i, dict)]


def _settings(snap: Json) -> dict[str, str]:
    settings = snap.get("sysctl")
    if not isinstance(settings, dict):
        raise SocklabError("snapshot without sysctl")
    return {str(k): str(v) for k, v in settings.items()}
