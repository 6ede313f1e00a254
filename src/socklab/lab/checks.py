"""An exercise's checks, run against a lab's current state.

Each check runs inside the node it names and gives ``(passed, reason)``: passed
when the result is the one the check expects; the reason says what was seen
(ping's own last line, the route found, the port's state and why, the value).
Traffic stays inside the lab's namespaces.
"""

from __future__ import annotations

from typing import NamedTuple

from socklab.errors import SocklabError
from socklab.lab.topology import Check, Lab

__all__ = ["Result", "run", "run_exercise"]

PING_WAIT = "1"  # seconds ping waits for the reply (ping -W)


class Result(NamedTuple):
    check: str  # the check in words
    expect: str
    seen: str
    passed: bool
    reason: str


def describe(c: Check) -> str:
    if c.kind == "ping":
        return f"{c.node}: ping {c.target}"
    if c.kind == "route":
        return f"{c.node}: route {c.target}" + (f" via {c.via}" if c.via else "")
    if c.kind == "port":
        return f"{c.node}: tcp port {c.target}:{c.port}"
    return f"{c.node}: sysctl {c.target}"


def _ping(ns: str, c: Check) -> tuple[str, str]:
    from socklab.kernel import labns

    code, out = labns.run(ns, ["ping", "-n", "-c", "1", "-W", PING_WAIT, c.target],
                          timeout=10.0)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ping:") or "nreachable" in ln]
    if code == 0:
        return "pass", next((ln for ln in lines if "bytes from" in ln), "a reply came")
    reason = errors[0] if errors else next((ln for ln in lines if "packet loss" in ln),
                                           f"ping exit status {code}")
    return "fail", reason


def _route(ns: str, c: Check) -> tuple[str, str]:
    from socklab.stack import read

    for r in read.routes(netns=ns, source="netlink"):
        if r.table != "main" or r.dst != c.target:
            continue
        if c.via is not None and r.gateway != c.via:
            continue
        return "present", f"{r.dst}" + (f" via {r.gateway}" if r.gateway else "") + \
            (f" dev {r.dev}" if r.dev else "")
    return "absent", f"no route {c.target} in the main table"


def _port(ns: str, c: Check) -> tuple[str, str]:
    from socklab.kernel import netns as knetns
    from socklab.probe import scan

    found = knetns.run_in(ns, scan.scan, c.target, [c.port], timeout=1.0, workers=1)
    return found[0].state, f"{found[0].state} ({found[0].reason})"


def _sysctl(ns: str, c: Check) -> tuple[str, str]:
    from socklab.kernel import netns as knetns
    from socklab.stack import sysctl

    got = knetns.run_in(ns, sysctl.read, c.target)
    text = got[0].text.strip() if got else ""
    return text, f"{c.target} = {text}"


def run(lab: Lab, c: Check) -> Result:
    ns = lab.namespace(c.node)
    try:
        seen, reason = {"ping": _ping, "route": _route, "port": _port,
                        "sysctl": _sysctl}[c.kind](ns, c)
    except SocklabError as exc:
        seen, reason = "error", str(exc)
    return Result(describe(c), c.expect, seen, seen == c.expect, reason)


def run_exercise(lab: Lab, name: str) -> list[Result]:
    return [run(lab, c) for c in lab.exercises[name].checks]
