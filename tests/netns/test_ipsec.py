"""`socklab ipsec` shows, field by field, the policies `ip -s xfrm policy` shows, for
policies the test adds with `ip xfrm policy add` in a namespace it made (three
directions, IPv4 and IPv6 selectors with protocols and ports, templates in tunnel
and transport mode, optional and required, a mark, a block action). This kernel has
no ESP/AH (`ip xfrm state add` fails): SAs are tested by tests/unit/test_xfrm_codec.py
on messages socklab encodes, and here only as an empty list."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

POLICIES = [
    "src 10.0.0.0/24 dst 10.0.1.0/24 proto tcp dport 80 dir out priority 100 "
    "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 7 mode tunnel",
    "src fd00::1/128 dst fd00::2/128 dir in tmpl proto ah mode transport level use",
    "src 0.0.0.0/0 dst 0.0.0.0/0 proto udp sport 500 dir fwd action block",
    "src 10.1.0.1/32 dst 10.1.0.2/32 proto udp dir out priority 5 mark 0x10 mask 0xff "
    "tmpl proto esp spi 0x1234 mode transport tmpl proto ah reqid 3 mode transport",
    "src 172.16.0.0/12 dst 192.168.0.0/16 proto sctp sport 1000 dport 2000 dir in",
    "src 10.2.0.0/16 dst 10.3.0.0/16 dir fwd "
    "tmpl src 198.51.100.1 dst 198.51.100.2 proto esp mode tunnel level use",
]
INF = (1 << 64) - 1


def _limit(text: str) -> int:
    return INF if text == "(INF)" else int(text)


def parse_ip_policies(text: str) -> list[dict]:
    """The policies of `ip -s xfrm policy list`, as dicts of socklab's field names."""
    out: list[dict] = []
    tmpl = None
    for line in text.splitlines():
        if m := re.match(r"^src (\S+) dst (\S+)(.*) uid (\d+)\s*$", line):
            rest = m.group(3).split()
            words = dict(zip(rest[::2], rest[1::2], strict=True))
            out.append({"src": m.group(1), "dst": m.group(2), "uid": int(m.group(4)),
                        "proto": socket.getprotobyname(words["proto"]) if "proto" in words
                        else 0, "sport": int(words.get("sport", 0)),
                        "dport": int(words.get("dport", 0)), "templates": [], "mark": None})
            tmpl = None
        elif m := re.match(r"^\tdir (\w+) action (\w+) index (\d+) priority (\d+) ", line):
            out[-1].update(dir=m.group(1), action=m.group(2), index=int(m.group(3)),
                           priority=int(m.group(4)))
        elif m := re.match(r"^\t  limit: soft (\S+)\((\w+)\), hard (\S+)\(\w+\)", line):
            out[-1][f"soft_{m.group(2)}"] = _limit(m.group(1))
            out[-1][f"hard_{m.group(2)}"] = _limit(m.group(3))
        elif m := re.match(r"^\t  expire (add|use): soft (\d+)\(sec\), hard (\d+)", line):
            out[-1][f"soft_{m.group(1)}_seconds"] = int(m.group(2))
            out[-1][f"hard_{m.group(1)}_seconds"] = int(m.group(3))
        elif m := re.match(r"^\tmark (0x[0-9a-f]+)/(0x[0-9a-f]+)", line):
            out[-1]["mark"] = [int(m.group(1), 16), int(m.group(2), 16)]
        elif m := re.match(r"^\ttmpl src (\S+) dst (\S+)", line):
            tmpl = {"src": m.group(1), "dst": m.group(2)}
            out[-1]["templates"].append(tmpl)
        elif m := re.match(r"^\t\tproto (\w+) spi 0x([0-9a-f]+)\(\d+\) reqid (\d+)\(0x[0-9a-f]+\)"
                           r" mode (\w+)", line):
            tmpl.update(proto=m.group(1), spi=int(m.group(2), 16), reqid=int(m.group(3)),
                        mode=m.group(4))
        elif m := re.match(r"^\t\tlevel (\w+) share (\w+)", line):
            tmpl.update(optional=m.group(1) == "use", share=m.group(2))
        elif m := re.match(r"^\t\tenc-mask (\w+) auth-mask (\w+) comp-mask (\w+)", line):
            tmpl.update(ealgos=int(m.group(1), 16), aalgos=int(m.group(2), 16),
                        calgos=int(m.group(3), 16))
    return out


@pytest.fixture
def with_policies(netns):
    need_tool("ip")
    for spec in POLICIES:
        netns.ip("xfrm", "policy", "add", *spec.split())
    return netns


def test_policies_match_ip_xfrm_field_by_field(with_policies):
    r = run_cli("--netns", with_policies.name, "ipsec", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = parse_ip_policies(with_policies.ip("-s", "xfrm", "policy", "list"))
    assert len(want) == len(POLICIES) == len(got["policies"])
    assert got["states"] == []
    assert {p["dir"] for p in want} == {"in", "out", "fwd"}
    mine_by_index = {p["policy_index"]: p for p in got["policies"]}
    for w in want:
        p = mine_by_index[w["index"]]
        s = p["selector"]
        assert (s["src"], s["dst"], s["proto"], s["user"]) == \
            (w["src"], w["dst"], w["proto"], w["uid"])
        assert s["sport"] == w["sport"] and s["dport"] == w["dport"]
        assert bool(s["sport_mask"]) == bool(w["sport"])
        assert bool(s["dport_mask"]) == bool(w["dport"])
        assert (p["dir"], p["action"], p["priority"], p["mark"]) == \
            (w["dir"], w["action"], w["priority"], w["mark"])
        for field in ("soft_bytes", "hard_bytes", "soft_packets", "hard_packets",
                      "soft_add_seconds", "hard_add_seconds", "soft_use_seconds",
                      "hard_use_seconds"):
            assert p["lifetime"][field] == w[field], field
        assert len(p["templates"]) == len(w["templates"])
        for t, wt in zip(p["templates"], w["templates"], strict=True):
            assert set(wt) == {"src", "dst", "proto", "spi", "reqid", "mode", "optional",
                               "share", "ealgos", "aalgos", "calgos"}
            assert {k: t[k] for k in wt if k != "share"} == {k: v for k, v in wt.items()
                                                            if k != "share"}
            assert wt["share"] == "any" and t["share"] == 0


def test_text_view_names_directions_templates_and_levels(with_policies):
    r = run_cli("--netns", with_policies.name, "ipsec", "policy")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert "policies: 6" in text
    assert "out  10.0.0.0/24 -> 10.0.1.0/24 proto tcp dport 80  priority 100  allow" in text
    assert "needs esp tunnel 192.0.2.1 -> 192.0.2.2 reqid 7 (required)" in text
    assert "needs ah transport reqid 0 (optional: level use)" in text
    assert "fwd  0.0.0.0/0 -> 0.0.0.0/0 proto udp sport 500  priority 0  block" in text
    assert "mark 0x10/0xff" in text and "spi 0x00001234" in text
    assert "security associations" not in text


def test_an_empty_namespace_says_what_policies_and_sas_would_mean(netns):
    r = run_cli("--netns", netns.name, "ipsec")
    assert r.returncode == 0, r.stderr
    assert b"policies: 0" in r.stdout and b"security associations: 0" in r.stdout
    assert b"no security policy" in r.stdout and b"no security association" in r.stdout


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.mark.parametrize("words", [("ipsec",), ("ipsec", "state", "--json")])
def test_without_privilege_exit_77_naming_cap_net_admin(words):
    need_root("needs root to drop to nobody")
    need_tool("setpriv")
    r = subprocess.run([*NOBODY, *SOCKLAB, *words], capture_output=True, timeout=60)
    assert r.returncode == 77, r.stderr
    assert b"CAP_NET_ADMIN" in r.stderr and r.stderr.count(b"\n") == 1
