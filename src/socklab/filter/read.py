"""Read the nftables ruleset: ``socklab.ruleset()``.

Two listings of the same ruleset are read, both through libnftables (or the
``nft`` program, :mod:`socklab.kernel.nftables`): the JSON one for the
structure, the counters and the sets, and the text one (``nft -a list
ruleset``) for each rule's line as nft prints it, matched by handles. Writing
nft's rule syntax back from its JSON expressions would be a second nft
printer to keep in step with nftables; the text listing is nft's own.

Rules:

1. The JSON is checked as it is read: a value of the wrong type is
   :class:`~socklab.errors.Malformed` naming the object and field.
2. Rules are keyed by (family, table handle, chain handle, rule handle): names
   may be quoted in the text listing, handles are plain numbers in both.
3. A rule whose line the text listing lacks (the ruleset changed between the
   two reads) keeps an empty ``text``; the counters still come from the JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from socklab.errors import Malformed
from socklab.filter.model import Chain, NftSet, Rule, Ruleset, Table

__all__ = ["parse_json", "parse_text", "ruleset"]

MAX_ELEMENTS = 100_000  # per set: a bound on memory for what is shown
MAX_TEXT = 4096  # the longest element text kept

_TABLE = re.compile(r"^table (\S+) (.+) \{ # handle (\d+)$")
_CHAIN = re.compile(r"^\s+chain (.+) \{ # handle (\d+)$")
_RULE = re.compile(r"^\s+(.*\S) # handle (\d+)$")

Key = tuple[str, int, int, int]


def parse_text(text: str) -> dict[Key, str]:
    """Rule lines of ``nft -a list ruleset``, by (family, table, chain, rule) handles.

    Only lines inside a chain block are rules; set and map blocks are skipped."""
    out: dict[Key, str] = {}
    family, table, chain = "", -1, -1
    for line in text.splitlines():
        if m := _TABLE.match(line):
            family, table, chain = m.group(1), int(m.group(3)), -1
        elif m := _CHAIN.match(line):
            chain = int(m.group(2))
        elif chain >= 0 and line.strip() == "}":
            chain = -1
        elif chain >= 0 and (m := _RULE.match(line)):
            out[family, table, chain, int(m.group(2))] = m.group(1)
    return out


def _field(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str,
           optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise Malformed(f"nft JSON {what}: field {key!r} is {value!r}")
    return value


def value_text(value: object, depth: int = 0) -> str:
    """A set element or match value as nft writes it: ``10.0.0.0/8``, ``1-1024``,
    ``a . b`` for a concatenation."""
    if depth > 8:
        return "..."
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)[:MAX_TEXT]
    if isinstance(value, list):
        return ", ".join(value_text(v, depth + 1) for v in value[:64])
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "prefix" and isinstance(inner, dict):
            return f"{value_text(inner.get('addr'), depth + 1)}/{inner.get('len')}"
        if key == "range" and isinstance(inner, list) and len(inner) == 2:
            return f"{value_text(inner[0], depth + 1)}-{value_text(inner[1], depth + 1)}"
        if key == "concat" and isinstance(inner, list):
            return " . ".join(value_text(v, depth + 1) for v in inner[:16])
        if key == "elem" and isinstance(inner, dict):
            return value_text(inner.get("val"), depth + 1)
        if key == "set" and isinstance(inner, list):
            return "{ " + value_text(inner, depth + 1) + " }"
    return json.dumps(value, sort_keys=True)[:MAX_TEXT]


def _element(value: object) -> str:
    if isinstance(value, list) and len(value) == 2:  # a map element: [key, value]
        return f"{value_text(value[0])} : {value_text(value[1])}"
    return value_text(value)


def _counter(exprs: object) -> tuple[int | None, int | None]:
    if not isinstance(exprs, list):
        return None, None
    for e in exprs:
        if isinstance(e, dict) and isinstance(e.get("counter"), dict):
            c = e["counter"]
            packets, nbytes = c.get("packets"), c.get("bytes")
            if isinstance(packets, int) and isinstance(nbytes, int):
                return packets, nbytes
    return None, None


def parse_json(text: str, lines: Mapping[Key, str] | None = None,
               legacy: tuple[str, ...] = (), source: str = "nft") -> Ruleset:
    """The ruleset from ``nft -j list ruleset``'s output, with each rule's text taken
    from ``lines`` (:func:`parse_text`). Raises Malformed."""
    try:
        doc = json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError, and UnicodeDecodeError
        raise Malformed(f"nft JSON listing: {exc}") from exc
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise Malformed("nft JSON listing: no 'nftables' list")
    lines = lines or {}
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            raise Malformed(f"nft JSON listing: item {i} is not an object of one kind")
        (kind, obj), = item.items()
        if not isinstance(obj, dict):
            raise Malformed(f"nft JSON listing: item {i} ({kind}) is not an object")
        what = f"{kind} (item {i})"
        if kind == "table":
            fam = _field(obj, "family", str, what)
            name = _field(obj, "name", str, what)
            tables[fam, name] = {"handle": _field(obj, "handle", int, what),
                                 "chains": [], "sets": []}
            continue
        if kind not in ("chain", "rule", "set", "map"):
            continue  # metainfo, counters, quotas, flowtables...: not shown
        fam = _field(obj, "family", str, what)
        tname = _field(obj, "table", str, what)
        table = tables.get((fam, tname))
        if table is None:
            raise Malformed(f"nft JSON listing: {what} names table {fam} {tname}, not listed")
        if kind == "chain":
            name = _field(obj, "name", str, what)
            chain = {"name": name, "handle": _field(obj, "handle", int, what),
                     "type": _field(obj, "type", str, what, True),
                     "hook": _field(obj, "hook", str, what, True),
                     "priority": _field(obj, "prio", int, what, True),
                     "policy": _field(obj, "policy", str, what, True),
                     "device": _field(obj, "dev", str, what, True), "rules": []}
            chains[fam, tname, name] = chain
            table["chains"].append(chain)
        elif kind == "rule":
            cname = _field(obj, "chain", str, what)
            owner = chains.get((fam, tname, cname))
            if owner is None:
                raise Malformed(f"nft JSON listing: {what} names chain {cname}, not listed")
            handle = _field(obj, "handle", int, what)
            packets, nbytes = _counter(obj.get("expr"))
            text_line = lines.get((fam, table["handle"], owner["handle"], handle), "")
            owner["rules"].append(Rule(handle, text_line, packets, nbytes,
                                       _field(obj, "comment", str, what, True)))
        else:
            elem = obj.get("elem", [])
            if not isinstance(elem, list):
                raise Malformed(f"nft JSON listing: {what}: field 'elem' is {elem!r}")
            flags = obj.get("flags", [])
            set_type = obj.get("type")
            if isinstance(set_type, list):  # a concatenation: ipv4_addr . inet_service
                set_type = " . ".join(str(t) for t in set_type)
            if kind == "map":
                set_type = f"{set_type} : {value_text(obj.get('map'))}"
            table["sets"].append(NftSet(
                _field(obj, "name", str, what), _field(obj, "handle", int, what), kind,
                str(set_type), tuple(str(f) for f in flags) if isinstance(flags, list) else (),
                tuple(_element(e) for e in elem[:MAX_ELEMENTS])))
    out = []
    for (fam, name), t in tables.items():
        out.append(Table(fam, name, t["handle"],
                         tuple(Chain(c["name"], c["handle"], c["type"], c["hook"], c["priority"],
                                     c["policy"], c["device"], tuple(c["rules"]))
                               for c in t["chains"]),
                         tuple(t["sets"])))
    return Ruleset(tuple(out), legacy, source)


def ruleset(netns: str | None = None, prefer: str = "auto") -> Ruleset:
    """The nftables ruleset of the current namespace, or of ``netns``.

    ``prefer``: ``"auto"`` (libnftables, else the ``nft`` program), ``"library"``
    or ``"program"``. MissingPrivilege (CAP_NET_ADMIN) without privilege:
    nfnetlink refuses even a listing."""
    from contextlib import nullcontext

    from socklab.kernel import netns as knetns
    from socklab.kernel import nftables

    with knetns.entered(netns) if netns else nullcontext():
        backend = nftables.backend(prefer)
        as_json = nftables.run("list ruleset", json=True, prefer=prefer)
        as_text = nftables.run("list ruleset", json=False, prefer=prefer)
        legacy = tuple(nftables.legacy_iptables_tables())
    return parse_json(as_json, parse_text(as_text), legacy, backend.name)
