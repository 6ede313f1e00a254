"""The nftables listing readers: nft's JSON and text as socklab reads them, hostile
input raising only Malformed, and the legacy iptables tables read from /proc."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import Malformed
from socklab.filter import read as ruleset
from socklab.kernel import nftables

JSON = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "inet", "name": "t", "handle": 1}},
    {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 2, "type": "filter",
               "hook": "input", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 3,
              "expr": [{"counter": {"packets": 5, "bytes": 420}}, {"accept": None}]}},
    {"set": {"family": "inet", "table": "t", "name": "s", "handle": 4,
             "type": ["ipv4_addr", "inet_service"], "flags": ["interval"],
             "elem": [{"concat": ["10.0.0.1", 22]}, {"prefix": {"addr": "10.1.0.0", "len": 16}},
                      {"range": [1, 1024]}, {"elem": {"val": "10.2.0.1", "timeout": 5}}]}},
]})
TEXT = """table inet t { # handle 1
\tset s { # handle 4
\t\ttype ipv4_addr . inet_service
\t\telements = { 10.0.0.1 . 22 }
\t}

\tchain c { # handle 2
\t\ttype filter hook input priority filter; policy drop;
\t\tcounter packets 5 bytes 420 accept # handle 3
\t}
}
"""


def test_json_and_text_make_one_ruleset():
    rs = ruleset.parse_json(JSON, ruleset.parse_text(TEXT))
    (t,) = rs.tables
    (c,) = t.chains
    assert (c.type, c.hook, c.priority, c.policy) == ("filter", "input", 0, "drop")
    assert c.rules[0] == (3, "counter packets 5 bytes 420 accept", 5, 420, None)
    (s,) = t.sets
    assert s.type == "ipv4_addr . inet_service"
    assert s.elements == ("10.0.0.1 . 22", "10.1.0.0/16", "1-1024", "10.2.0.1")


def test_a_set_block_line_is_not_a_rule():
    assert ruleset.parse_text(TEXT) == {("inet", 1, 2, 3): "counter packets 5 bytes 420 accept"}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.sampled_from(
                        ["nftables", "table", "chain", "rule", "set", "family", "name",
                         "table", "chain", "handle", "expr", "elem", "prio", "counter"]),
                        kids, max_size=5), max_leaves=30))
def test_any_json_gives_a_ruleset_or_malformed(doc):
    with contextlib.suppress(Malformed):
        ruleset.parse_json(json.dumps(doc))


@given(st.text(max_size=200))
def test_any_text_gives_a_ruleset_or_malformed(text):
    with contextlib.suppress(Malformed):
        ruleset.parse_json(text, ruleset.parse_text(text))


def test_legacy_tables_are_read_from_proc(tmp_path):
    net = tmp_path / "thread-self" / "net"
    net.mkdir(parents=True)
    (net / "ip_tables_names").write_text("filter\nnat\n")
    (net / "ip6_tables_names").write_text("mangle\n")
    assert nftables.legacy_iptables_tables(str(tmp_path)) == ["filter", "nat", "ip6:mangle"]
    (net / "ip_tables_names").unlink()
    (net / "ip6_tables_names").unlink()
    assert nftables.legacy_iptables_tables(str(tmp_path)) == []
