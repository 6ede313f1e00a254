"""`socklab filter` shows what `nft -j list ruleset` shows, field by field, for a ruleset
loaded with `nft -f` in a namespace the test made (several families, base and regular
chains, rules with counters that traffic moved, named sets and maps)."""

from __future__ import annotations

import json
import re

import pytest
from helpers import need_tool, run_cli

RULESET = """
table inet t1 {
  set blocked { type ipv4_addr; flags interval; elements = { 10.9.9.9, 10.8.0.0/16 }; }
  map ports { type inet_service : ipv4_addr; elements = { 80 : 10.0.0.1, 443 : 10.0.0.2 }; }
  chain input { type filter hook input priority 0; policy accept;
    ct state established,related counter accept
    ip saddr @blocked counter drop
    tcp dport { 22, 80 } counter accept comment "web and ssh"
    iifname "lo" udp dport 53 counter reject
    icmp type echo-request counter accept
  }
  chain out { type filter hook output priority 10; policy accept;
    counter
    jump side
  }
  chain side {
    ip daddr 1.2.3.4 counter drop
  }
}
table ip t2 {
  chain fw { type filter hook forward priority -5; policy drop;
  }
}
table ip6 t3 {
  chain pre { type nat hook prerouting priority -100; policy accept;
    ip6 daddr ::1 counter
  }
}
table arp t4 {
  chain in { type filter hook input priority 0; policy accept;
  }
}
"""


@pytest.fixture
def loaded(netns, tmp_path):
    need_tool("nft", "ping")
    path = tmp_path / "rules.nft"
    path.write_text(RULESET)
    netns.exec("nft", "-f", str(path))
    # traffic, so that counters are not all zero: two pings on the namespace's loopback
    netns.exec("ping", "-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1")
    return netns


def _nft_json(ns) -> list[dict]:
    return json.loads(ns.exec("nft", "-j", "list", "ruleset").stdout)["nftables"]


def _nft_lines(ns) -> dict[int, str]:
    """Rule handle -> rule text of `nft -a list ruleset` (handles are unique per table:
    keyed by (table handle, rule handle))."""
    out = {}
    table = None
    for line in ns.exec("nft", "-a", "list", "ruleset").stdout.splitlines():
        if m := re.match(r"^table \S+ \S+ \{ # handle (\d+)$", line):
            table = int(m.group(1))
        elif (m := re.match(r"^\t\t(.*\S) # handle (\d+)$", line)):
            out[table, int(m.group(2))] = m.group(1)
    return out


def _counter(expr):
    for e in expr:
        if "counter" in e:
            return e["counter"]["packets"], e["counter"]["bytes"]
    return None, None


@pytest.mark.parametrize("source", ["library", "program"])
def test_filter_matches_nft_field_by_field(loaded, source):
    r = run_cli("--netns", loaded.name, "filter", "--json", "--source", source)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["source"] == {"library": "libnftables", "program": "nft"}[source]
    oracle = _nft_json(loaded)
    lines = _nft_lines(loaded)
    tables = {(t["family"], t["name"]): t for t in got["tables"]}
    want_tables = [o["table"] for o in oracle if "table" in o]
    assert [(t["family"], t["name"], t["handle"]) for t in got["tables"]] == \
        [(t["family"], t["name"], t["handle"]) for t in want_tables]
    assert {t["family"] for t in want_tables} == {"inet", "ip", "ip6", "arp"}
    chains = {(f, t["name"], c["name"]): (t, c) for (f, _), t in tables.items()
              for c in t["chains"]}
    seen_rules = 0
    moved = 0
    for o in oracle:
        if "chain" in o:
            c = o["chain"]
            _, mine = chains[c["family"], c["table"], c["name"]]
            assert (mine["handle"], mine["type"], mine["hook"], mine["priority"],
                    mine["policy"]) == (c["handle"], c.get("type"), c.get("hook"),
                                        c.get("prio"), c.get("policy")), c
        elif "rule" in o:
            rule = o["rule"]
            table, mine_chain = chains[rule["family"], rule["table"], rule["chain"]]
            mine = {x["handle"]: x for x in mine_chain["rules"]}[rule["handle"]]
            # a counter moved by the pings may be read at another moment: compare at rest
            assert (mine["packets"], mine["bytes"]) == _counter(rule["expr"])
            assert mine["comment"] == rule.get("comment")
            assert mine["text"] == lines[table["handle"], rule["handle"]]
            seen_rules += 1
            moved += bool(mine["packets"])
        elif "set" in o or "map" in o:
            kind = "set" if "set" in o else "map"
            s = o[kind]
            mine = {x["name"]: x for x in tables[s["family"], s["table"]]["sets"]}[s["name"]]
            assert (mine["kind"], mine["handle"]) == (kind, s["handle"])
            assert len(mine["elements"]) == len(s["elem"]) >= 2
    assert seen_rules == 9
    assert moved >= 2  # the echo-request rule and the output counter saw the pings
    sets = tables["inet", "t1"]["sets"]
    assert {s["name"]: s["elements"] for s in sets} == {
        "blocked": ["10.8.0.0/16", "10.9.9.9"], "ports": ["80 : 10.0.0.1", "443 : 10.0.0.2"]}


def test_filter_text_lists_every_rule_line_with_its_handle(loaded):
    r = run_cli("--netns", loaded.name, "filter")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    for (_table, handle), line in _nft_lines(loaded).items():
        assert f"[{handle}] {line}" in text
    assert "chain side  (handle" in text and "regular" in text
    assert "type filter hook output priority 10; policy accept" in text


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.mark.parametrize("words", [("filter",), ("filter", "--json"),
                                   ("filter", "--source", "program")])
def test_without_privilege_exit_77_naming_cap_net_admin(words):
    from helpers import SOCKLAB, need_root

    need_root("needs root to drop to nobody")
    need_tool("setpriv")
    import subprocess

    r = subprocess.run([*NOBODY, *SOCKLAB, *words], capture_output=True, timeout=60)
    assert r.returncode == 77, r.stderr
    err = r.stderr.decode()
    assert err.startswith("socklab: error: ") and "CAP_NET_ADMIN" in err
    assert err.count("\n") == 1 and r.stdout == b""
