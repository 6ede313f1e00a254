"""`socklab filter add|del` in a namespace the test made: the rule nft lists is the one
socklab's --explain lines make when run by nft itself, the handle is nft's, a reject
rule refuses a real connection while its counter goes up, and del undoes it. Bad
arguments exit 2 with nothing sent; without privilege, 77 naming CAP_NET_ADMIN."""

from __future__ import annotations

import errno
import itertools
import json
import re
import shlex
import socket
import subprocess

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

SPECS = [
    ("drop", "-p", "tcp", "--dport", "8080", "--counter"),
    ("accept", "--state", "established,related"),
    ("reject", "-s", "10.0.0.0/8", "-i", "lo", "-p", "udp", "--sport", "1000-2000"),
    ("accept", "--chain", "output", "-d", "fd00::1", "-o", "lo", "-p", "icmpv6", "--counter"),
    ("drop", "--chain", "forward", "--family", "ip", "-s", "192.168.1.0/24", "-p", "icmp"),
    ("reject", "--table", "lab", "-p", "tcp", "--dport", "22", "--state", "new"),
]


def _rules(ns) -> dict[int, str]:
    """handle -> rule text of every rule `nft -a list ruleset` shows."""
    text = ns.exec("nft", "-a", "list", "ruleset").stdout
    return {int(m.group(2)): m.group(1)
            for m in re.finditer(r"^\t\t(.*\S) # handle (\d+)$", text, re.M)}


@pytest.mark.parametrize("words", SPECS, ids=[" ".join(s) for s in SPECS])
def test_added_rule_is_what_the_explained_nft_lines_make(netns_factory, words):
    need_tool("nft")
    mine, oracle = netns_factory(), netns_factory()
    r = run_cli("--netns", mine.name, "filter", "add", *words, "--explain", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    nft_lines = [line for line in got["explain"] if line.startswith("nft ")]
    assert len(nft_lines) == 3
    assert any(line.startswith(("iptables ", "ip6tables ")) for line in got["explain"])
    for line in nft_lines:  # nft itself runs the lines shown, in another namespace
        oracle.exec(*shlex.split(line))
    rules = _rules(mine)
    assert got["handle"] in rules
    assert list(rules.values()) == list(_rules(oracle).values())
    assert mine.exec("nft", "-a", "list", "ruleset").stdout == \
        oracle.exec("nft", "-a", "list", "ruleset").stdout


def _listener(ns):
    def make():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        return s
    return ns.run(make)


def _connect(ns, port: int) -> int:
    def attempt():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            return c.connect_ex(("127.0.0.1", port))
    return ns.run(attempt)


def _counter(ns, handle: int) -> int:
    doc = json.loads(ns.exec("nft", "-j", "list", "ruleset").stdout)["nftables"]
    (rule,) = [o["rule"] for o in doc if "rule" in o and o["rule"]["handle"] == handle]
    return next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)


@pytest.mark.parametrize("source", ["library", "program"])
def test_reject_refuses_a_connection_counts_it_and_del_undoes_it(netns, source):
    need_tool("nft")
    server = _listener(netns)
    port = server.getsockname()[1]
    try:
        assert _connect(netns, port) == 0
        r = run_cli("--netns", netns.name, "filter", "--source", source, "add", "reject",
                    "-p", "tcp", "--dport", str(port), "--counter")
        assert r.returncode == 0, r.stderr
        handle = int(re.search(rb"\(handle (\d+)\)", r.stdout).group(1))
        assert _counter(netns, handle) == 0
        # reject in an inet table answers a SYN with ICMP port unreachable: refused
        assert _connect(netns, port) == errno.ECONNREFUSED
        assert _counter(netns, handle) == 1
        r = run_cli("--netns", netns.name, "filter", "--source", source, "del", str(handle))
        assert r.returncode == 0, r.stderr
        assert handle not in _rules(netns)
        assert _connect(netns, port) == 0
        r = run_cli("--netns", netns.name, "filter", "del", str(handle))
        assert r.returncode == 2 and b"No such file" in r.stderr
    finally:
        server.close()


BAD = [
    ("add", "allow"),
    ("add", "drop", "--dport", "80"),
    ("add", "drop", "-p", "tcp", "--dport", "0"),
    ("add", "drop", "-p", "tcp", "--dport", "70000"),
    ("add", "drop", "-p", "tcp", "--dport", "2000-1000"),
    ("add", "drop", "-p", "tcp", "--dport", "80;flush ruleset"),
    ("add", "drop", "-s", "10.0.0.300"),
    ("add", "drop", "-s", "10.0.0.1", "-d", "::1"),
    ("add", "drop", "-p", "icmp", "-s", "::1"),
    ("add", "drop", "--family", "ip6", "-s", "10.0.0.1"),
    ("add", "drop", "-i", 'eth0" accept'),
    ("add", "drop", "-i", "averyveryverylongname"),
    ("add", "drop", "-i", "ppp+"),  # iptables would read every ppp*
    ("add", "drop", "--chain", "output", "-i", "lo"),
    ("add", "drop", "--chain", "input", "-o", "lo"),
    ("add", "drop", "--state", "new,bogus"),
    ("add", "drop", "--table", "t; flush ruleset"),
    ("add", "drop", "--chain", "prerouting"),
    ("del", "0"),
    ("del", "x"),
    ("del", "3", "--table", "a b"),
    ("del", "drop", "tcp", "--dport", "80"),  # add's options take one action
    ("del", "tcp", "dport", "80", "drop"),  # no table yet
]


@pytest.mark.parametrize("words", BAD, ids=[" ".join(w) for w in BAD])
def test_bad_arguments_exit_2_with_nothing_sent(netns, words):
    need_tool("nft")
    r = run_cli("--netns", netns.name, "filter", *words)
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert err.startswith("socklab: error: ") and err.count("\n") == 1
    assert netns.exec("nft", "list", "ruleset").stdout == ""


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.mark.parametrize("words", [("add", "drop", "-p", "tcp", "--dport", "9"),
                                   ("del", "4"),
                                   # refused before the ruleset is read: nothing is added
                                   ("trace", "tcp", "127.0.0.1", "9", "--host")])
def test_without_privilege_exit_77_naming_cap_net_admin(words):
    need_root("needs root to drop to nobody")
    need_tool("setpriv")
    r = subprocess.run([*NOBODY, *SOCKLAB, "filter", *words], capture_output=True, timeout=60)
    assert r.returncode == 77, r.stderr
    assert b"CAP_NET_ADMIN" in r.stderr and r.stderr.count(b"\n") == 1


def _location(words: tuple[str, ...]) -> list[str]:
    """The options of a shape that say where its rule goes (chain, table, family)."""
    out: list[str] = []
    for option, value in itertools.pairwise(words):
        if option in ("--chain", "--table", "--family"):
            out += [option, value]
    return out


@pytest.mark.parametrize("words", SPECS, ids=[" ".join(s) for s in SPECS])
def test_del_by_description_removes_the_one_rule_it_describes(netns, words):
    """For each shape: the words of filter add, then nft's words as listed, each remove
    the rule they describe and leave its neighbour (the same rule, another port)."""
    need_tool("nft")
    where = _location(words)
    other = ("accept", *where, "-p", "tcp", "--dport", "4242")
    for how in ("add words", "nft words"):
        for w in (words, other):
            assert run_cli("--netns", netns.name, "filter", "add", *w).returncode == 0
        before = _rules(netns)
        (mine, theirs) = list(before)[-2:]
        # nft words: the rule's text as `socklab filter` lists it, counter numbers and all
        description = list(words) if how == "add words" else before[mine].split() + where
        r = run_cli("--netns", netns.name, "filter", "del", *description)
        assert r.returncode == 0, (how, r.stderr)
        assert f"deleted rule {mine} ".encode() in r.stdout
        after = _rules(netns)
        assert mine not in after and theirs in after
        assert run_cli("--netns", netns.name, "filter", "del", *description).returncode == 2
        netns.exec("nft", "flush", "ruleset")


def test_del_by_description_names_every_handle_when_several_match(netns):
    need_tool("nft")
    for _ in range(2):
        run_cli("--netns", netns.name, "filter", "add", "drop", "-p", "tcp", "--dport", "8080")
    run_cli("--netns", netns.name, "filter", "add", "drop", "--chain", "output", "-p", "tcp",
            "--dport", "8080")
    handles = sorted(_rules(netns))
    r = run_cli("--netns", netns.name, "filter", "del", "tcp", "dport", "8080", "drop")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "3 rules" in err
    assert all(f"{h} (" in err for h in handles)
    assert sorted(_rules(netns)) == handles  # nothing deleted
    # one chain named: still two in input; output's alone goes
    r = run_cli("--netns", netns.name, "filter", "del", "--chain", "output",
                "drop", "-p", "tcp", "--dport", "8080")
    assert r.returncode == 0, r.stderr
    assert sorted(_rules(netns)) == handles[:2]
    r = run_cli("--netns", netns.name, "filter", "del", "udp", "dport", "8080", "drop")
    assert r.returncode == 2 and b"no rule of inet socklab matches" in r.stderr
