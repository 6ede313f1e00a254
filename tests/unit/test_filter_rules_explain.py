"""The nft and iptables lines `filter add --explain` shows, for the course's rules."""

from __future__ import annotations

import pytest

from socklab.errors import BadInput
from socklab.filter import rules

CASES = [
    (dict(action="drop", proto="tcp", dport="22", counter=True),
     "tcp dport 22 counter drop",
     ["iptables -A INPUT -p tcp --dport 22 -j DROP",
      "ip6tables -A INPUT -p tcp --dport 22 -j DROP"]),
    (dict(action="accept", states="established,related"),
     "ct state established,related accept",
     ["iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
      "ip6tables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]),
    (dict(action="reject", src="10.1.2.3/8", iif="eth0", proto="udp", sport="1000-2000"),
     'iifname "eth0" ip saddr 10.0.0.0/8 udp sport 1000-2000 reject',
     ["iptables -A INPUT -i eth0 -p udp -s 10.0.0.0/8 --sport 1000:2000 -j REJECT"]),
    (dict(action="accept", hook="output", dst="fd00::1/128", oif="lo", proto="icmpv6"),
     'oifname "lo" ip6 daddr fd00::1 meta l4proto icmpv6 accept',
     ["ip6tables -A OUTPUT -o lo -p ipv6-icmp -d fd00::1 -j ACCEPT"]),
    (dict(action="drop", hook="forward", proto="icmp"),
     "meta l4proto icmp drop", ["iptables -A FORWARD -p icmp -j DROP"]),
]


@pytest.mark.parametrize(("kw", "body", "iptables"), CASES)
def test_explained_lines(kw, body, iptables):
    r = rules.spec(**kw)
    assert rules.rule_text(r) == body
    lines = rules.explain(r)
    assert lines[2] == f"nft 'add rule inet socklab {r.hook} {body}'"
    assert [x for x in lines if x.startswith(("iptables", "ip6tables"))] == iptables


@pytest.mark.parametrize("kw", [dict(action="drop", proto="udp", sport="1-0"),
                                dict(action="drop", states=["new", "nope"]),
                                dict(action="drop", table="1abc"),
                                dict(action="drop", family="bridge")])
def test_bad_parts_are_bad_input(kw):
    with pytest.raises(BadInput):
        rules.spec(**kw)
