"""`socklab ipsec add|del`: one host's half of a transport-mode ESP pair, in a namespace
the test made. A refused step leaves nothing of socklab's behind (checked on any
kernel: a policy the test made first refuses socklab's, or the kernel refuses the SA);
where the kernel has ESP, the SAs and policies match `ip -s xfrm state/policy` and
del removes them (probed at run time: skipped with the kernel's error otherwise)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

ENC, AUTH = "00112233445566778899aabbccddeeff", "ab" * 32
PAIR = ("10.9.0.1", "10.9.0.2", "--spi-out", "0x1000", "--spi-in", "0x1001")
ADD = ("ipsec", "add", *PAIR, "--enc-key", ENC, "--auth-key", AUTH)


def _state(ns) -> tuple[list, list]:
    r = run_cli("--netns", ns.name, "ipsec", "--json", "--show-keys")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    return got["policies"], got["states"]


def test_a_refused_step_leaves_nothing_of_socklab_behind(netns):
    need_tool("ip")
    # the test's own policy for the same selector and direction: socklab's "out"
    # policy is refused (EEXIST) on a kernel with ESP, after both SAs were added
    netns.ip("xfrm", "policy", "add", "src", "10.9.0.1/32", "dst", "10.9.0.2/32",
             "dir", "out", "priority", "7")
    r = run_cli("--netns", netns.name, *ADD)
    assert r.returncode == 1, r.stderr
    err = r.stderr.decode()
    assert err.startswith("socklab: error: ipsec: add ") and err.count("\n") == 1
    assert ("Protocol not supported" in err) or ("File exists" in err)
    assert ENC not in err and AUTH not in err
    policies, states = _state(netns)
    assert states == []
    assert [(p["dir"], p["priority"]) for p in policies] == [("out", 7)]


def test_explain_shows_ip_xfrm_lines_keys_only_when_asked(netns):
    r = run_cli("--netns", netns.name, *ADD, "-n")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert text.count("ip xfrm state add ") == 2 and text.count("ip xfrm policy add ") == 2
    assert "spi 0x00001000" in text and "spi 0x00001001" in text
    assert ENC not in text and AUTH not in text and "0xENC_KEY" in text
    r = run_cli("--netns", netns.name, *ADD, "-n", "--show-keys")
    assert ENC in r.stdout.decode() and AUTH in r.stdout.decode()
    assert _state(netns) == ([], [])  # -n sent nothing


BAD = [
    ("ipsec", "add", "10.9.0.1", "fd00::2", "--spi-out", "0x1000", "--spi-in", "0x1001",
     "--enc-key", ENC, "--auth-key", AUTH),
    ("ipsec", "add", "10.9.0.1", "10.9.0.1", "--spi-out", "0x1000", "--spi-in", "0x1001",
     "--enc-key", ENC, "--auth-key", AUTH),
    ("ipsec", "add", *PAIR[:3], "255", *PAIR[4:], "--enc-key", ENC, "--auth-key", AUTH),
    ("ipsec", "add", *PAIR, "--enc-key", ENC[:-2], "--auth-key", AUTH),
    ("ipsec", "add", *PAIR, "--enc-key", "zz" * 16, "--auth-key", AUTH),
    ("ipsec", "add", *PAIR, "--enc-key", ENC),
    ("ipsec", "add", *PAIR, "--enc-key", ENC, "--auth-key", AUTH, "--reqid", "0"),
    ("ipsec", "del", *PAIR[:2], "--spi-out", "x", "--spi-in", "0x1001"),
    ("ipsec", "del", *PAIR),  # nothing to delete
]


@pytest.mark.parametrize("words", BAD, ids=[" ".join(w[1:4]) for w in BAD])
def test_bad_arguments_exit_2_with_nothing_changed(netns, words):
    r = run_cli("--netns", netns.name, *words)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count(b"\n") == 1 and ENC.encode() not in r.stderr
    assert _state(netns) == ([], [])


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def test_without_privilege_exit_77_naming_cap_net_admin():
    need_root("needs root to drop to nobody")
    need_tool("setpriv")
    r = subprocess.run([*NOBODY, *SOCKLAB, *ADD], capture_output=True, timeout=60)
    assert r.returncode == 77, r.stderr
    assert b"CAP_NET_ADMIN" in r.stderr and r.stderr.count(b"\n") == 1


@pytest.mark.needs_kernel_feature
def test_esp_pair_matches_ip_xfrm_and_del_removes_it(netns_factory):
    need_tool("ip")
    probe, ns = netns_factory(), netns_factory()
    tried = probe.exec("ip", "xfrm", "state", "add", "src", "10.9.0.1", "dst", "10.9.0.2",
                       "proto", "esp", "spi", "0x100", "mode", "transport", "enc", "cbc(aes)",
                       "0x" + ENC, "auth-trunc", "hmac(sha256)", "0x" + AUTH, "128",
                       check=False)
    if tried.returncode != 0:
        pytest.skip(f"kernel without ESP: ip xfrm state add: {tried.stderr.strip()}")
    r = run_cli("--netns", ns.name, *ADD)
    assert r.returncode == 0, r.stderr
    policies, states = _state(ns)
    assert sorted((s["spi"], s["src"], s["dst"]) for s in states) == [
        (0x1000, "10.9.0.1", "10.9.0.2"), (0x1001, "10.9.0.2", "10.9.0.1")]
    text = ns.ip("-s", "xfrm", "state", "list")
    for s in states:
        assert (s["proto"], s["mode"], s["reqid"]) == ("esp", "transport", 1)
        algs = {a["kind"]: a for a in s["algorithms"]}
        assert algs["enc"]["name"] == "cbc(aes)" and algs["enc"]["key"] == ENC
        assert algs["auth-trunc"]["extra_bits"] == 128 and algs["auth-trunc"]["key"] == AUTH
        assert re.search(rf"src {s['src']} dst {s['dst']}\n\tproto esp spi "
                         rf"0x{s['spi']:08x}\(\d+\) reqid 1\(0x00000001\) mode transport",
                         text)
    assert sorted(p["dir"] for p in policies) == ["in", "out"]
    r = run_cli("--netns", ns.name, "ipsec", "del", *PAIR)
    assert r.returncode == 0, r.stderr
    assert _state(ns) == ([], [])
