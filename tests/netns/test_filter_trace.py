"""`socklab filter trace`: for a table of flows against a known ruleset, in a namespace
the test made, the rule socklab names as decisive is the one whose counter went up
(read with nft itself), a flow no rule decides ends on a chain's policy with no
counter moved, and the trace table is gone afterwards, also after an error."""

from __future__ import annotations

import json
import re

import pytest
from helpers import need_root, need_tool, run_cli
from lab_helpers import leftovers, shipped_copy

from socklab.lab import build

# every counter sits on a rule that decides, and matches only its probe (not the
# replies: a reject's ICMP error, a SYN-ACK, an echo reply)
RULESET = """
table inet t {
  chain input { type filter hook input priority 0; policy accept;
    tcp dport 1001 counter drop
    udp dport 1002 accept  # not final: ip other input decides it again, last
    tcp dport 1003 counter reject
    icmp type echo-request ip saddr 127.0.0.2 counter drop
    ip6 daddr ::1 udp dport 1006 counter drop
    tcp dport 1007 jump side
  }
  chain side {
    tcp dport 1007 counter reject with tcp reset
  }
  chain output { type filter hook output priority 0; policy accept;
    udp dport 1004 counter drop
  }
}
table ip other {
  chain input { type filter hook input priority 10; policy drop;
    tcp dport 1001 counter accept
    udp dport 1005 counter accept
    ip daddr 127.0.0.1 tcp dport 1008 counter accept
    icmp type echo-request counter accept
    udp dport 1002 counter accept
  }
}
"""

# (words, decisive (table, chain) or None for a policy, verdict)
FLOWS = [
    (("tcp", "127.0.0.1", "1001"), ("t", "input"), "drop"),
    (("udp", "127.0.0.1", "1002"), ("other", "input"), "accept"),
    (("tcp", "127.0.0.1", "1003"), ("t", "input"), "drop"),
    (("udp", "127.0.0.1", "1004"), ("t", "output"), "drop"),
    (("udp", "127.0.0.1", "1005"), ("other", "input"), "accept"),
    (("udp", "::1", "1006"), ("t", "input"), "drop"),
    (("tcp", "127.0.0.1", "1007"), ("t", "side"), "drop"),
    (("tcp", "127.0.0.1", "1008"), ("other", "input"), "accept"),
    (("icmp", "127.0.0.1", "--src", "127.0.0.2"), ("t", "input"), "drop"),
    (("icmp", "127.0.0.1"), ("other", "input"), "accept"),
    (("udp", "127.0.0.1", "1009"), None, "drop"),  # policy drop of ip other input
]


@pytest.fixture
def ruled(netns, tmp_path):
    need_tool("nft")
    path = tmp_path / "rules.nft"
    path.write_text(RULESET)
    netns.exec("nft", "-f", str(path))
    return netns


def _counters(ns) -> dict[tuple[str, str, int], int]:
    doc = json.loads(ns.exec("nft", "-j", "list", "ruleset").stdout)["nftables"]
    out = {}
    for o in doc:
        if "rule" in o:
            r = o["rule"]
            for e in r["expr"]:
                if "counter" in e:
                    out[r["table"], r["chain"], r["handle"]] = e["counter"]["packets"]
    return out


@pytest.mark.parametrize(("words", "where", "verdict"), FLOWS,
                         ids=[" ".join(f[0]) for f in FLOWS])
def test_decisive_rule_is_the_one_whose_counter_went_up(ruled, words, where, verdict):
    before = _counters(ruled)
    r = run_cli("--netns", ruled.name, "filter", "trace", *words, "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    after = _counters(ruled)
    moved = [k for k in after if after[k] != before.get(k)]
    assert got["verdict"] == verdict
    decisive = got["decisive"]["event"]
    if where is None:
        assert decisive["kind"] == "policy" and moved == []
        assert (decisive["table"], decisive["chain"]) == ("other", "input")
    else:
        assert len(moved) == 1, moved
        assert after[moved[0]] == before[moved[0]] + 1
        assert (decisive["table"], decisive["chain"], decisive["handle"]) == moved[0]
        assert (decisive["table"], decisive["chain"]) == where
        assert got["counters"] == [["inet" if where[0] == "t" else "ip", *moved[0], 1]]
    # every step is in a chain of the ruleset (the trace table's own are left out)
    assert {s["event"]["table"] for s in got["steps"]} <= {"t", "other"}
    assert "socklab_trace" not in ruled.exec("nft", "list", "tables").stdout


def test_text_output_names_the_rule_and_the_chain_it_jumped_from(ruled):
    r = run_cli("--netns", ruled.name, "filter", "trace", "tcp", "127.0.0.1", "1007")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert "inet t input rule [" in text and "tcp dport 1007 jump side: jump side" in text
    assert "<- decisive" in text
    assert "verdict: drop, by rule [" in text and "of inet t side: tcp dport 1007 counter" in text


def test_the_host_is_refused_without_host_and_nothing_is_left_after_an_error(ruled):
    r = run_cli("filter", "trace", "tcp", "127.0.0.1", "1")
    assert r.returncode == 2 and b"--netns" in r.stderr and b"--host" in r.stderr
    # a source address the namespace does not have: bind fails after the ruleset was read
    r = run_cli("--netns", ruled.name, "filter", "trace", "udp", "127.0.0.1", "9",
                "--src", "10.99.0.1")
    assert r.returncode == 1, r.stderr
    assert b"Cannot assign requested address" in r.stderr
    assert "socklab_trace" not in ruled.exec("nft", "list", "tables").stdout


@pytest.mark.parametrize("words", [("sctp", "127.0.0.1", "1"), ("tcp", "127.0.0.1"),
                                   ("tcp", "127.0.0.1", "0"), ("icmp", "127.0.0.1", "7"),
                                   ("udp", "localhost", "53"),
                                   ("udp", "::1", "53", "--src", "127.0.0.1"),
                                   ("tcp", "127.0.0.1", "1", "--from", "sl-no-such-ns"),
                                   ("tcp", "127.0.0.1", "1", "--from", "../../etc"),
                                   ("tcp", "127.0.0.1", "1", "--from", "")])
def test_bad_flows_exit_2_before_anything_changes(ruled, words):
    r = run_cli("--netns", ruled.name, "filter", "trace", *words)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count(b"\n") == 1
    assert "socklab_trace" not in ruled.exec("nft", "list", "tables").stdout


def test_an_empty_ruleset_lets_the_probe_through(netns):
    need_tool("nft")
    r = run_cli("--netns", netns.name, "filter", "trace", "udp", "127.0.0.1", "9", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["seen"], got["steps"], got["verdict"]) == (True, [], "accept")
    assert netns.exec("nft", "list", "ruleset").stdout == ""
    r = run_cli("--netns", netns.name, "filter", "trace", "icmp", "127.0.0.1")
    assert r.returncode == 0 and b"verdict: accept (no chain" in r.stdout


def test_the_filter_labs_exercise_traces_h1s_syn_to_r1s_forward_rule():
    """lab4's exercise text runs as written (the lab under a name of its own): the SYN
    sent from h1 meets r1's forward rule, which drops it; port 22 is let through."""
    need_root()
    need_tool("nft")
    lab = shipped_copy("lab4")
    text = lab.exercises["filtered"].text["en"]
    m = re.search(r"socklab (--netns \S+ filter trace .+? --from \S+)", " ".join(text.split()))
    assert m, text
    words = m.group(1).replace("sl-lab4-", f"sl-{lab.name}-").split()
    build.up(lab, "shipped:lab4")
    try:
        got = json.loads(run_cli(*words, "--json").stdout)
        event = got["decisive"]["event"]
        assert (got["verdict"], event["chain"], event["kind"]) == ("drop", "forward", "rule")
        assert got["decisive"]["rule"] == "tcp dport 80 drop"
        words[words.index("80")] = "22"
        got = json.loads(run_cli(*words, "--json").stdout)
        assert got["verdict"] == "accept" and got["decisive"]["event"]["kind"] == "policy"
    finally:
        build.down(lab.name)
    assert leftovers(lab.name) == []
