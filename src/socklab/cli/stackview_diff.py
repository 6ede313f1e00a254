"""The differences of 'socklab diff', as lines and as JSON objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socklab.stack.snapshot import Difference

SINGULAR = {"links": "link", "addresses": "address", "routes": "route", "rules": "rule",
            "neighbours": "neighbour", "sysctl": "sysctl"}
MARK = {"added": "+", "removed": "-", "changed": "~"}


def _short(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


# what is shown of an object added or removed, besides its key
DETAILS = {
    "links": ("kind", "mtu", "address", "flags"),
    "addresses": ("family", "scope", "label", "broadcast", "peer"),
    "routes": ("gateway", "dev", "prefsrc", "protocol", "scope", "nexthops"),
    "rules": (),
    "neighbours": ("lladdr", "state"),
}


def _details(kind: str, obj: object) -> str:
    if not isinstance(obj, dict):
        return ""
    shown = [f"{name} {_short(obj.get(name))}" for name in DETAILS.get(kind, ())
             if obj.get(name) not in (None, [], "")]
    return f" ({', '.join(shown)})" if shown else ""


def lines(found: list[Difference]) -> list[str]:
    """``+ route main unicast 10.8.0.0/16 metric 0``, ``~ link v0: mtu 1500 -> 1400``."""
    out = []
    for d in found:
        head = f"{MARK[d.change]} {SINGULAR[d.kind]} {d.key}"
        if d.kind == "sysctl" and d.change != "changed":
            value = d.after if d.change == "added" else d.before
            out.append(f"{head} = {value}")
        elif d.kind == "sysctl":
            out.append(f"{head}: {d.before} -> {d.after}")
        elif d.fields:
            out.append(f"{head}: " + "; ".join(
                f"{name} {_short(a)} -> {_short(b)}" for name, (a, b) in d.fields.items()))
        else:
            out.append(head + _details(d.kind, d.after if d.change == "added" else d.before))
    return out


def as_json(d: Difference) -> dict[str, object]:
    out: dict[str, object] = {"change": d.change, "kind": SINGULAR[d.kind], "key": d.key}
    if d.change == "added":
        out["after"] = d.after
    elif d.change == "removed":
        out["before"] = d.before
    else:
        out["fields"] = {k: {"before": a, "after": b} for k, (a, b) in (d.fields or {}).items()}
    return out
