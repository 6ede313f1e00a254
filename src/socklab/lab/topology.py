"""Lab topology files (TOML): read, checked, turned into a plan. Pure: text in, records out.

A file names the lab, its nodes (hosts and routers), the links between two
nodes (a veth pair), the switches (a bridge joining several nodes), and the
exercises with their checks. The README has a full example; the shipped labs
(``socklab/lab/labs/*.toml``) are more.

Rules:

1. Every problem is a :class:`BadInput` naming the file, the line and the
   problem: ``lab1.toml:12: node h1: route via 10.0.9.1: ...``. tomllib gives
   the line of a syntax error; for the others the line of the key is found in
   the text (:class:`_Lines`).
2. Names are short and plain (a lab 1 to 12 letters or digits, a node 1 to 8),
   so that every namespace is ``sl-LAB-NODE`` (and the lab's own ``sl-LAB``,
   where the switches' bridges live) and fits the kernel's limits.
3. Only what is checked here reaches the kernel: addresses and prefixes parsed
   by ``ipaddress``, interface names by the kernel's rule (1 to 15 bytes, no
   ``/``, space or ``:``), filter rules by :func:`socklab.filter.rules.spec`,
   IPsec by :mod:`socklab.ipsec.manual` (an ESP pair's local address must be
   one of the node's own).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from socklab.errors import BadInput, SocklabError

__all__ = [
    "PREFIX",
    "Check",
    "Exercise",
    "Iface",
    "Lab",
    "Link",
    "Node",
    "Route",
    "Service",
    "Switch",
    "parse",
]

PREFIX = "sl-"
MAX_NODES = 64
MAX_FILE = 256 << 10
_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_RATE = re.compile(r"^[1-9][0-9]{0,9}(bit|kbit|mbit|gbit)$")
_KEY = re.compile(r"^net\.[a-z0-9_.\-]+$")
KINDS = ("host", "router")
CHECK_KINDS = ("ping", "route", "port", "sysctl")
SERVICE_MODES = ("echo", "discard", "chat")


@dataclass
class Route:
    to: str  # "default" or a prefix
    via: str | None
    dev: str | None


@dataclass
class Service:
    endpoint: str
    mode: str


@dataclass
class Iface:
    name: str
    addresses: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (label, address)


@dataclass
class Node:
    name: str
    kind: str
    sysctls: dict[str, str]
    interfaces: dict[str, Iface]
    routes: list[Route]
    neighbours: list[tuple[str, str, str]]  # (address, mac, dev)
    nat: list[str]  # interfaces masqueraded
    rules: list[Any]  # socklab.filter.rules.RuleSpec
    services: list[Service]
    esp: list[Any] = field(default_factory=list)  # socklab.ipsec.manual.EspPair
    policies: list[Any] = field(default_factory=list)  # socklab.ipsec.model.Policy


@dataclass
class Link:
    a: tuple[str, str]  # (node, interface)
    b: tuple[str, str]
    mtu: int | None
    rate: str | None


@dataclass
class Switch:
    name: str
    ports: list[tuple[str, str]]
    mtu: int | None
    rate: str | None


@dataclass
class Check:
    kind: str  # ping, route, port, sysctl
    node: str
    target: str  # ping: address; route: prefix; port: host; sysctl: key
    expect: str  # ping pass|fail; route present|absent; port open|closed|filtered; value
    start: str  # pass or fail: the result in the lab's starting state
    port: int = 0
    via: str | None = None


@dataclass
class Exercise:
    name: str
    title: dict[str, str]
    text: dict[str, str]
    checks: list[Check]
    solution: list[tuple[str, list[str]]]  # (node, argv)


@dataclass
class Lab:
    name: str
    title: dict[str, str]
    text: dict[str, str]
    nodes: dict[str, Node]
    links: list[Link]
    switches: dict[str, Switch]
    exercises: dict[str, Exercise]
    source: str = ""

    def namespace(self, node: str | None = None) -> str:
        """The namespace of a node, or of the lab itself (node None)."""
        return f"{PREFIX}{self.name}" + (f"-{node}" if node else "")

    def namespaces(self) -> list[str]:
        """Every namespace the lab makes, its own first."""
        return [self.namespace()] + [self.namespace(n) for n in self.nodes]


class _Lines:
    """Where each key of a TOML text is: ``(path) -> line``, read from the headers
    (``[a.b]``, ``[[c]]``) and the ``key = value`` lines. A path not found is
    located at its longest known prefix."""

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[object, ...], int] = {}
        counts: dict[tuple[object, ...], int] = {}
        table: tuple[object, ...] = ()
        for no, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if s.startswith("[["):
                base = tuple(_split(s.strip("[] ")))
                i = counts.get(base, -1) + 1
                counts[base] = i
                table = (*base, i)
                self.at.setdefault(base, no)
                self.at.setdefault(table, no)
            elif s.startswith("["):
                table = tuple(_split(s.strip("[] ")))
                self.at.setdefault(table, no)
            else:
                m = re.match(r"^([A-Za-z0-9_\-.\"' ]+?)\s*=", s)
                if m:  # a dotted key names its tables too (a.b.c = 1 makes a and a.b)
                    key = (*table, *_split(m.group(1)))
                    for n in range(len(table) + 1, len(key) + 1):
                        self.at.setdefault(key[:n], no)

    def line(self, path: tuple[object, ...]) -> int:
        for n in range(len(path), 0, -1):
            if path[:n] in self.at:
                return self.at[path[:n]]
        return 1


def _split(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted)]


class _Problem(Exception):
    def __init__(self, path: tuple[object, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _want(value: object, kind: type, path: tuple[object, ...], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Problem(path, f"{what} must be {_TYPE_NAMES.get(kind, kind.__name__)}")
    return value


_TYPE_NAMES = {str: "a string", int: "a number", list: "a list", dict: "a table",
               bool: "true or false"}


def _keys(d: dict[str, Any], allowed: tuple[str, ...], path: tuple[object, ...],
          what: str) -> None:
    for k in d:
        if k not in allowed:
            raise _Problem((*path, k), f"{what}: unknown key {k!r} (known: "
                           f"{', '.join(allowed)})")


def _texts(d: dict[str, Any], key: str, path: tuple[object, ...]) -> dict[str, str]:
    value = d.get(key, {})
    if isinstance(value, str):
        return {"en": value}
    _want(value, dict, (*path, key), key)
    for lang, text in value.items():
        if lang not in ("en", "fr"):
            raise _Problem((*path, key, lang), f"{key}: language {lang!r} (en or fr)")
        _want(text, str, (*path, key, lang), f"{key}.{lang}")
    return dict(value)


def _interface(text: str, path: tuple[object, ...]) -> str:
    try:
        if "/" not in text:
            raise ValueError(text)  # ipaddress would take it as a /32: say it
        return str(ipaddress.ip_interface(text))
    except ValueError:
        raise _Problem(path, f"address {text!r}: not an address with its prefix length "
                       f"(10.0.1.1/24, fd00::1/64)") from None


def _ip(text: object, path: tuple[object, ...], what: str) -> str:
    _want(text, str, path, what)
    try:
        return str(ipaddress.ip_address(str(text)))
    except ValueError:
        raise _Problem(path, f"{what} {text!r}: not an IP address") from None


def _endpoint(text: object, path: tuple[object, ...], nodes: dict[str, Any]) -> tuple[str, str]:
    _want(text, str, path, "an endpoint")
    node, _, dev = str(text).partition(":")
    if node not in nodes:
        raise _Problem(path, f"endpoint {text!r}: no node {node!r}")
    if not _IFNAME.match(dev) or dev == "lo":
        raise _Problem(path, f"endpoint {text!r}: NODE:INTERFACE, an interface name of 1 to "
                       f"15 letters, digits, '_', '-' or '.' (not lo)")
    return node, dev


def _mtu(value: object, path: tuple[object, ...]) -> int | None:
    if value is None:
        return None
    n = _want(value, int, path, "mtu")
    if not 68 <= n <= 65535:
        raise _Problem(path, f"mtu {n}: from 68 (RFC 791) to 65535")
    return int(n)


def _rate(value: object, path: tuple[object, ...]) -> str | None:
    if value is None:
        return None
    text = _want(value, str, path, "rate")
    if not _RATE.match(text):
        raise _Problem(path, f"rate {text!r}: a number and a unit, bit kbit mbit or gbit "
                       f"(tc(8)): 1mbit")
    return str(text)


def parse(text: str, source: str = "lab.toml") -> Lab:
    """Read and check a topology; BadInput ``SOURCE:LINE: problem`` at the first problem."""
    if len(text) > MAX_FILE:
        raise BadInput(f"{source}: longer than {MAX_FILE} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{source}:{m.group(1)}" if m else source
        problem = re.sub(r"\s*\(at line.*\)$", "", str(exc)) or "not TOML"
        raise BadInput(f"{where}: {problem} (TOML syntax)") from None
    try:
        lab = _lab(data)
    except _Problem as p:
        raise BadInput(f"{source}:{_Lines(text).line(p.path)}: {p.message}") from None
    lab.source = text
    return lab


def _lab(d: dict[str, Any]) -> Lab:
    _keys(d, ("name", "title", "text", "nodes", "links", "switches", "exercises"), (), "lab")
    name = d.get("name")
    if name is None:
        raise _Problem((), "the lab has no name (name = \"lab1\")")
    _want(name, str, ("name",), "name")
    if not _LAB_NAME.match(name):
        raise _Problem(("name",), f"lab name {name!r}: 1 to 12 lower-case letters or digits, "
                       f"a letter first")
    raw_nodes = _want(d.get("nodes", {}), dict, ("nodes",), "nodes")
    if not raw_nodes:
        raise _Problem(("nodes",), "a lab needs at least one node ([nodes.h1])")
    if len(raw_nodes) > MAX_NODES:
        raise _Problem(("nodes",), f"{len(raw_nodes)} nodes: at most {MAX_NODES}")
    for n in raw_nodes:
        if not _NAME.match(n):
            raise _Problem(("nodes", n), f"node name {n!r}: 1 to 8 lower-case letters or "
                           f"digits, a letter first")
    # the interfaces come from the links and switches
    used: dict[tuple[str, str], tuple[object, ...]] = {}

    def attach(ep: object, path: tuple[object, ...]) -> tuple[str, str]:
        got = _endpoint(ep, path, raw_nodes)
        if got in used:
            raise _Problem(path, f"endpoint {got[0]}:{got[1]} is used twice")
        used[got] = path
        return got

    links = []
    for i, raw in enumerate(_want(d.get("links", []), list, ("links",), "links")):
        path: tuple[object, ...] = ("links", i)
        _want(raw, dict, path, "a link")
        _keys(raw, ("endpoints", "mtu", "rate"), path, "link")
        eps = _want(raw.get("endpoints"), list, (*path, "endpoints"),
                    "a link's endpoints (endpoints = [\"h1:eth0\", \"r1:eth0\"])")
        if len(eps) != 2:
            raise _Problem((*path, "endpoints"), "a link joins two endpoints (a switch joins "
                           "more)")
        a, b = (attach(e, (*path, "endpoints")) for e in eps)
        if a[0] == b[0]:
            raise _Problem((*path, "endpoints"), f"a link from node {a[0]} to itself")
        links.append(Link(a, b, _mtu(raw.get("mtu"), (*path, "mtu")),
                          _rate(raw.get("rate"), (*path, "rate"))))
    switches = {}
    for sname, raw in _want(d.get("switches", {}), dict, ("switches",), "switches").items():
        path = ("switches", sname)
        if not _NAME.match(sname):
            raise _Problem(path, f"switch name {sname!r}: 1 to 8 lower-case letters or digits")
        _want(raw, dict, path, "a switch")
        _keys(raw, ("ports", "mtu", "rate"), path, f"switch {sname}")
        ports = [attach(e, (*path, "ports"))
                 for e in _want(raw.get("ports", []), list, (*path, "ports"), "ports")]
        if not ports:
            raise _Problem(path, f"switch {sname}: no ports (ports = [\"h1:eth0\", ...])")
        switches[sname] = Switch(sname, ports, _mtu(raw.get("mtu"), (*path, "mtu")),
                                 _rate(raw.get("rate"), (*path, "rate")))
    nodes = {n: _node(n, raw, {dev for (nn, dev) in used if nn == n})
             for n, raw in raw_nodes.items()}
    exercises = {}
    for i, raw in enumerate(_want(d.get("exercises", []), list, ("exercises",), "exercises")):
        ex = _exercise(raw, ("exercises", i), nodes)
        if ex.name in exercises:
            raise _Problem(("exercises", i, "name"), f"exercise {ex.name!r} twice")
        exercises[ex.name] = ex
    return Lab(name, _texts(d, "title", ()), _texts(d, "text", ()), nodes, links, switches,
               exercises)


def _node(name: str, d: object, devs: set[str]) -> Node:
    path: tuple[object, ...] = ("nodes", name)
    _want(d, dict, path, f"node {name}")
    assert isinstance(d, dict)
    _keys(d, ("kind", "sysctls", "interfaces", "routes", "neighbours", "nat", "filter",
              "services", "ipsec"), path, f"node {name}")
    kind = d.get("kind", "host")
    if kind not in KINDS:
        raise _Problem((*path, "kind"), f"node {name}: kind {kind!r}: host or router")
    sysctls = {}
    for key, value in _want(d.get("sysctls", {}), dict, (*path, "sysctls"), "sysctls").items():
        if not _KEY.match(key) or ".." in key:
            raise _Problem((*path, "sysctls"), f"node {name}: sysctl {key!r}: only net.* keys "
                           f"(the node's own namespace)")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _Problem((*path, "sysctls"), f"node {name}: sysctl {key}: a number or string")
        sysctls[key] = str(value)
    ifaces = {dev: Iface(dev) for dev in sorted(devs)}
    raw_if = _want(d.get("interfaces", {}), dict, (*path, "interfaces"), "interfaces")
    for dev, conf in raw_if.items():
        ipath = (*path, "interfaces", dev)
        if dev not in ifaces:
            raise _Problem(ipath, f"node {name}: interface {dev} is on no link or switch")
        _want(conf, dict, ipath, f"interface {dev}")
        _keys(conf, ("addresses", "aliases"), ipath, f"interface {dev}")
        for a in _want(conf.get("addresses", []), list, (*ipath, "addresses"), "addresses"):
            ifaces[dev].addresses.append(_interface(_want(a, str, (*ipath, "addresses"),
                                                          "an address"), (*ipath, "addresses")))
        for label, a in _want(conf.get("aliases", {}), dict, (*ipath, "aliases"),
                              "aliases").items():
            if not label.startswith(dev + ":") or not _IFNAME.match(label.replace(":", "_")):
                raise _Problem((*ipath, "aliases"), f"alias {label!r}: {dev}:N, 15 bytes at most")
            addr = _interface(_want(a, str, (*ipath, "aliases"), "an address"),
                              (*ipath, "aliases"))
            if ipaddress.ip_interface(addr).version != 4:
                raise _Problem((*ipath, "aliases"), f"alias {label}: labels are IPv4 only")
            ifaces[dev].aliases.append((label, addr))
    routes = []
    for r in _want(d.get("routes", []), list, (*path, "routes"), "routes"):
        rpath = (*path, "routes")
        _want(r, dict, rpath, "a route ({ to = \"default\", via = \"10.0.1.1\" })")
        _keys(r, ("to", "via", "dev"), rpath, "route")
        to = _want(r.get("to"), str, rpath, "a route's destination (to)")
        if to not in ("default", "default6"):
            try:
                to = str(ipaddress.ip_network(to, strict=True))
            except ValueError:
                raise _Problem(rpath, f"node {name}: route to {to!r}: a prefix "
                               f"(10.0.2.0/24) or default") from None
        via = None if r.get("via") is None else _ip(r["via"], rpath, "via")
        dev = r.get("dev")
        if dev is not None and dev not in ifaces:
            raise _Problem(rpath, f"node {name}: route dev {dev}: no such interface")
        if via is None and dev is None:
            raise _Problem(rpath, f"node {name}: route to {to}: needs via or dev")
        routes.append(Route(to, via, dev))
    neighbours = []
    for n in _want(d.get("neighbours", []), list, (*path, "neighbours"), "neighbours"):
        npath = (*path, "neighbours")
        _want(n, dict, npath, "a neighbour ({ address, mac, dev })")
        _keys(n, ("address", "mac", "dev"), npath, "neighbour")
        addr = _ip(n.get("address"), npath, "neighbour address")
        mac = _want(n.get("mac"), str, npath, "mac")
        if not _MAC.match(mac):
            raise _Problem(npath, f"node {name}: mac {mac!r}: six hex bytes, 02:00:00:00:00:01")
        dev = n.get("dev")
        if dev not in ifaces:
            raise _Problem(npath, f"node {name}: neighbour dev {dev!r}: no such interface")
        neighbours.append((addr, mac.lower(), str(dev)))
    nat = []
    for dev in _want(d.get("nat", []), list, (*path, "nat"), "nat (a list of interfaces)"):
        if dev not in ifaces:
            raise _Problem((*path, "nat"), f"node {name}: nat on {dev!r}: no such interface")
        nat.append(str(dev))
    rules = []
    for r in _want(d.get("filter", []), list, (*path, "filter"), "filter"):
        fpath = (*path, "filter")
        _want(r, dict, fpath, "a filter rule ({ action = \"drop\", hook = \"forward\", ... })")
        _keys(r, ("action", "hook", "proto", "src", "dst", "sport", "dport", "iif", "oif",
                  "states"), fpath, "filter rule")
        from socklab.filter import rules as frules

        args: dict[str, str] = {}
        for k, v in r.items():
            if isinstance(v, bool) or not isinstance(v, int | str):
                raise _Problem(fpath, f"node {name}: filter {k}: a string")
            args[k] = str(v)
        try:
            rules.append(frules.spec(
                args.get("action", ""), args.get("hook", "input"), proto=args.get("proto"),
                src=args.get("src"), dst=args.get("dst"), sport=args.get("sport"),
                dport=args.get("dport"), iif=args.get("iif"), oif=args.get("oif"),
                states=args.get("states", "")))
        except SocklabError as exc:
            raise _Problem(fpath, f"node {name}: {exc}") from None
    services = []
    for s in _want(d.get("services", []), list, (*path, "services"), "services"):
        spath = (*path, "services")
        _want(s, dict, spath, "a service ({ listen = \"tcp::80\", mode = \"echo\" })")
        _keys(s, ("listen", "mode"), spath, "service")
        ep = _want(s.get("listen"), str, spath, "listen")
        from socklab.talk import endpoint

        try:
            parsed = endpoint.parse(ep)
        except SocklabError as exc:
            raise _Problem(spath, f"node {name}: service {exc}") from None
        if getattr(parsed, "scheme", "") not in ("tcp", "udp", "tcp4", "tcp6", "udp4", "udp6"):
            raise _Problem(spath, f"node {name}: service {ep}: a tcp: or udp: endpoint")
        mode = s.get("mode", "echo")
        if mode not in SERVICE_MODES:
            raise _Problem(spath, f"node {name}: service mode {mode!r}: "
                           f"{', '.join(SERVICE_MODES)}")
        services.append(Service(ep, mode))
    esp, policies = _ipsec(name, d.get("ipsec", {}), (*path, "ipsec"), ifaces)
    return Node(name, kind, sysctls, ifaces, routes, neighbours, nat, rules, services, esp,
                policies)


def _ipsec(name: str, d: object, path: tuple[object, ...],
           ifaces: dict[str, Iface]) -> tuple[list[Any], list[Any]]:
    """``ipsec.esp``: this node's half of transport-mode ESP pairs (``socklab ipsec add``);
    ``ipsec.policies``: policies without a template, allow or block."""
    from socklab.ipsec import manual

    _want(d, dict, path, "ipsec (a table: esp = [...], policies = [...])")
    assert isinstance(d, dict)
    _keys(d, ("esp", "policies"), path, f"node {name}: ipsec")
    own = {str(ipaddress.ip_interface(a).ip) for i in ifaces.values()
           for a in [*i.addresses, *(addr for _label, addr in i.aliases)]}
    esp = []
    for e in _want(d.get("esp", []), list, (*path, "esp"), "esp"):
        epath = (*path, "esp")
        _want(e, dict, epath, "an ESP pair ({ local, remote, spi_out, spi_in, enc_key, "
              "auth_key })")
        _keys(e, ("local", "remote", "spi_out", "spi_in", "enc_key", "auth_key", "reqid"),
              epath, "esp")
        for key in ("local", "remote", "enc_key", "auth_key"):
            _want(e.get(key), str, epath, f"esp {key}")
        for key in ("spi_out", "spi_in"):
            _want(e.get(key), int, epath, f"esp {key}")
        reqid = _want(e.get("reqid", 1), int, epath, "esp reqid")
        try:
            pair = manual.esp_pair(e["local"], e["remote"], e["spi_out"], e["spi_in"],
                                   e["enc_key"], e["auth_key"], reqid=reqid)
        except SocklabError as exc:
            raise _Problem(epath, f"node {name}: {exc}") from None
        if pair.local not in own:
            raise _Problem(epath, f"node {name}: esp local {pair.local}: not an address of "
                           f"this node")
        esp.append(pair)
    policies = []
    for r in _want(d.get("policies", []), list, (*path, "policies"), "policies"):
        ppath = (*path, "policies")
        _want(r, dict, ppath, "a policy ({ src, dst, dir, action })")
        _keys(r, ("src", "dst", "dir", "action", "proto", "priority"), ppath, "policy")
        for key in ("src", "dst", "dir", "action"):
            _want(r.get(key), str, ppath, f"policy {key}")
        proto = None if r.get("proto") is None else _want(r["proto"], str, ppath,
                                                          "policy proto")
        priority = _want(r.get("priority", 0), int, ppath, "policy priority")
        try:
            policies.append(manual.policy(r["src"], r["dst"], r["dir"], r["action"], proto,
                                          priority))
        except SocklabError as exc:
            raise _Problem(ppath, f"node {name}: {exc}") from None
    return esp, policies


def _exercise(d: object, path: tuple[object, ...], nodes: dict[str, Node]) -> Exercise:
    _want(d, dict, path, "an exercise")
    assert isinstance(d, dict)
    _keys(d, ("name", "title", "text", "checks", "solution"), path, "exercise")
    name = _want(d.get("name"), str, (*path, "name"), "an exercise's name")
    if not re.match(r"^[a-z0-9][a-z0-9\-]{0,31}$", name):
        raise _Problem((*path, "name"), f"exercise name {name!r}: lower-case letters, digits "
                       f"and '-'")
    checks = []
    for c in _want(d.get("checks", []), list, (*path, "checks"), "checks"):
        checks.append(_check(c, (*path, "checks"), nodes, name))
    solution = []
    for s in _want(d.get("solution", []), list, (*path, "solution"), "solution"):
        spath = (*path, "solution")
        _want(s, dict, spath, "a solution step ({ node = \"r1\", run = [...] })")
        _keys(s, ("node", "run"), spath, "solution step")
        node = s.get("node")
        if node not in nodes:
            raise _Problem(spath, f"exercise {name}: solution on node {node!r}: no such node")
        argv = _want(s.get("run"), list, spath, "run (a command as a list of words)")
        if not argv or not all(isinstance(w, str) for w in argv):
            raise _Problem(spath, f"exercise {name}: run: a list of words")
        solution.append((str(node), [str(w) for w in argv]))
    return Exercise(name, _texts(d, "title", path), _texts(d, "text", path), checks, solution)


def _check(c: object, path: tuple[object, ...], nodes: dict[str, Node], ex: str) -> Check:
    _want(c, dict, path, "a check")
    assert isinstance(c, dict)
    _keys(c, ("kind", "node", "to", "via", "port", "key", "expect", "start"), path, "check")
    kind = c.get("kind")
    if kind not in CHECK_KINDS:
        raise _Problem(path, f"exercise {ex}: check kind {kind!r}: {', '.join(CHECK_KINDS)}")
    node = c.get("node")
    if node not in nodes:
        raise _Problem(path, f"exercise {ex}: check on node {node!r}: no such node")
    start = c.get("start", "fail")
    if start not in ("pass", "fail"):
        raise _Problem(path, f"exercise {ex}: start {start!r}: pass or fail")
    expect = c.get("expect")
    port = 0
    via = None
    if kind == "ping":
        target = _ip(c.get("to"), path, "ping to")
        expect = expect or "pass"
        allowed: tuple[str, ...] = ("pass", "fail")
    elif kind == "route":
        target = _want(c.get("to"), str, path, "route to")
        if target != "default":
            try:
                target = str(ipaddress.ip_network(target))
            except ValueError:
                raise _Problem(path, f"exercise {ex}: route to {target!r}: a prefix or "
                               f"default") from None
        via = None if c.get("via") is None else _ip(c["via"], path, "via")
        expect = expect or "present"
        allowed = ("present", "absent")
    elif kind == "port":
        target = _ip(c.get("to"), path, "port check to")
        port = _want(c.get("port"), int, path, "port")
        if not 1 <= port <= 65535:
            raise _Problem(path, f"exercise {ex}: port {port}: 1 to 65535")
        allowed = ("open", "closed", "filtered")
    else:
        target = _want(c.get("key"), str, path, "key")
        if not _KEY.match(target):
            raise _Problem(path, f"exercise {ex}: sysctl {target!r}: a net.* key")
        if isinstance(expect, int) and not isinstance(expect, bool):
            expect = str(expect)
        _want(expect, str, path, "expect (the value)")
        allowed = (str(expect),)
    if expect not in allowed:
        raise _Problem(path, f"exercise {ex}: {kind} check expects {expect!r}: "
                       f"{' or '.join(allowed)}")
    return Check(kind, str(node), target, str(expect), str(start), port, via)
