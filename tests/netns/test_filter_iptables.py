"""The iptables lines `socklab filter add --explain` shows, run by a real iptables (the
nft backend, iptables-nft) in a namespace the test made: for every shape of rule
`filter add` accepts, each line is accepted, and the rule it leaves in nftables
(`nft -j list ruleset`, table ip filter or ip6 filter) has the same match fields and
verdict as socklab's rule means. What the rule means is read here from its checked
parts (RuleSpec), not from the lines socklab writes: the oracle is iptables itself."""

from __future__ import annotations

import ipaddress
import json
import re
import shlex

import pytest
from helpers import need_tool

from socklab.errors import BadInput
from socklab.filter import rules

# (action, hook, keyword arguments of rules.spec): every action, hook, family, protocol,
# address kind, port form, interface side and connection state at least once
SHAPES = [
    ("drop", "input", {"proto": "tcp", "dport": "8080", "counter": True}),
    ("accept", "input", {"states": "established,related"}),
    ("reject", "input", {"src": "10.0.0.0/8", "iif": "lo", "proto": "udp",
                         "sport": "1000-2000"}),
    ("accept", "output", {"dst": "fd00::1", "oif": "lo", "proto": "icmpv6", "counter": True}),
    ("drop", "forward", {"family": "ip", "src": "192.168.1.0/24", "proto": "icmp"}),
    ("reject", "input", {"table": "lab", "proto": "tcp", "dport": "22", "states": "new"}),
    ("accept", "input", {"proto": "udp"}),
    ("drop", "output", {"proto": "tcp", "sport": "1024-65535", "dport": "443"}),
    ("reject", "forward", {"iif": "eth0", "oif": "eth1", "proto": "tcp", "dport": "80"}),
    ("drop", "input", {"family": "ip6", "src": "2001:db8::/32", "proto": "tcp",
                       "dport": "22"}),
    ("accept", "input", {"family": "ip6", "proto": "icmpv6"}),
    ("drop", "input", {"states": "invalid"}),
    ("accept", "output", {"states": "untracked", "counter": True}),
    ("reject", "output", {"dst": "192.0.2.1", "proto": "udp", "dport": "53"}),
    ("drop", "input", {"src": "10.1.2.3", "dst": "10.1.2.4"}),
    ("accept", "forward", {"src": "fd00::/64", "dst": "fd01::/64",
                           "states": "established"}),
    ("drop", "input", {"iif": "veth-a.1", "proto": "icmp"}),
    ("accept", "input", {"family": "ip", "proto": "tcp", "states": "new,established"}),
    ("drop", "input", {"proto": "udp", "dport": "5000-5010", "counter": True}),
    ("reject", "input", {"family": "ip6", "dst": "::1", "proto": "udp", "dport": "9"}),
    ("accept", "forward", {"oif": "a@b", "dst": "10.9.0.0/16", "proto": "tcp",
                           "sport": "80", "states": "related"}),
    ("drop", "output", {}),
    ("accept", "input", {"iif": "a+b"}),  # a + inside a name is no wildcard
]

L4 = {"icmpv6": "ipv6-icmp"}  # nft's (and /etc/protocols') name of ICMPv6 as a protocol


def _net(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


def meant(r: rules.RuleSpec, version: int) -> dict[str, object]:
    """What socklab's rule means for IPv``version`` packets, field by field."""
    ip = "ip" if version == 4 else "ip6"
    out: dict[str, object] = {"chain": r.hook.upper(), "verdict": r.action}
    if r.iif:
        out["iifname"] = r.iif
    if r.oif:
        out["oifname"] = r.oif
    if r.src:
        out[f"{ip} saddr"] = _net(r.src)
    if r.dst:
        out[f"{ip} daddr"] = _net(r.dst)
    if r.proto and not (r.sport or r.dport):
        out["l4proto"] = L4.get(r.proto, r.proto)
    if r.sport:
        out[f"{r.proto} sport"] = r.sport
    if r.dport:
        out[f"{r.proto} dport"] = r.dport
    if r.states:
        out["ct state"] = sorted(r.states)
    return out


def _value(right: object) -> str:
    if isinstance(right, dict) and "prefix" in right:
        return f"{right['prefix']['addr']}/{right['prefix']['len']}"
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        return f"{low}-{high}"
    return str(right)


def found(rule: dict, text: str) -> dict[str, object]:
    """What the rule nft lists means, from its JSON expressions; an xt match (what
    iptables-nft keeps as an iptables extension) is read from nft's own translation of
    it in the text listing (``text``, the rule's line)."""
    out: dict[str, object] = {"chain": rule["chain"]}
    for e in rule["expr"]:
        (kind, body), = e.items()
        if kind == "match" and body["op"] == "==":
            left, right = body["left"], body["right"]
            if "meta" in left:
                key = left["meta"]["key"]
                out[key] = right
            elif "payload" in left:
                p = left["payload"]
                value = _value(right)
                if p["field"] in ("saddr", "daddr"):
                    value = _net(value)
                out[f"{p['protocol']} {p['field']}"] = value
            elif "ct" in left and left["ct"]["key"] == "state":
                out["ct state"] = sorted(right if isinstance(right, list) else [right])
            else:
                out[f"unknown match {json.dumps(left)}"] = right
        elif kind == "xt" and body["type"] == "match" and body["name"] == "conntrack":
            m = re.search(r"\bct state (\S+)", text)
            out["ct state"] = sorted(m.group(1).split(",")) if m else "?"
        elif kind == "xt" and body["type"] == "target" and body["name"] == "REJECT":
            # iptables' REJECT answers icmp(6)-port-unreachable unless --reject-with:
            # nft's reject default (nft(8)); the text shows any other message
            out["verdict"] = "reject" if re.search(r"\breject$", text) else text
        elif kind in ("accept", "drop"):
            out["verdict"] = kind
        elif kind == "reject":
            out["verdict"] = "reject"
        elif kind != "counter":  # iptables counts every rule
            out[f"unknown {kind}"] = body
    return out


def _rule_lines(ns, family: str) -> dict[int, str]:
    text = ns.exec("nft", "-a", "list", "table", family, "filter").stdout
    return {int(m.group(2)): m.group(1).replace(" counter packets 0 bytes 0", "")
            for m in re.finditer(r"^\t\t(.*\S) # handle (\d+)$", text, re.M)}


@pytest.mark.parametrize(("action", "hook", "kwargs"), SHAPES,
                         ids=[f"{a} {h} {' '.join(f'{k}={v}' for k, v in kw.items())}"
                              for a, h, kw in SHAPES])
def test_explained_iptables_line_makes_the_same_rule(netns, action, hook, kwargs):
    need_tool("iptables", "nft")
    r = rules.spec(action, hook, **kwargs)
    lines = [line for line in rules.explain(r) if line.startswith(("iptables ", "ip6tables "))]
    assert lines
    for line in lines:
        proc = netns.exec(*shlex.split(line), check=False)
        assert proc.returncode == 0, (line, proc.stderr)
        version = 6 if line.startswith("ip6tables") else 4
        family = "ip6" if version == 6 else "ip"
        doc = json.loads(netns.exec("nft", "-j", "list", "table", family, "filter").stdout)
        listed = [o["rule"] for o in doc["nftables"] if "rule" in o]
        assert len(listed) == 1, (line, listed)  # one line, one rule
        (rule,) = listed
        text = _rule_lines(netns, family)[rule["handle"]]
        assert found(rule, text) == meant(r, version), (line, text)
        netns.exec("nft", "flush", "table", family, "filter")


def test_a_name_iptables_would_read_as_a_wildcard_is_refused():
    # nft's iifname "ppp+" is that one interface; iptables' -i ppp+ is every ppp*
    # (iptables(8)): no iptables line means the same, so filter add refuses it
    with pytest.raises(BadInput, match="wildcard"):
        rules.spec("drop", "input", iif="ppp+")
    with pytest.raises(BadInput, match="wildcard"):
        rules.spec("drop", "output", oif="+")
    assert rules.spec("drop", "input", iif="a+b").iif == "a+b"  # only a final + is


def test_the_shapes_cover_what_filter_add_accepts():
    used = {(a, h) for a, h, _kw in SHAPES}
    assert {a for a, _h in used} == set(rules.ACTIONS)
    assert {h for _a, h in used} == set(rules.HOOKS)
    kwargs = [kw for _a, _h, kw in SHAPES]
    assert {kw.get("family", "inet") for kw in kwargs} == set(rules.FAMILIES)
    assert {kw.get("proto") for kw in kwargs} >= set(rules.PROTOCOLS)
    states = {s for kw in kwargs for s in str(kw.get("states", "")).split(",") if s}
    assert states == set(rules.STATES)
    for key in ("src", "dst", "sport", "dport", "iif", "oif", "counter"):
        assert any(key in kw for kw in kwargs), key
