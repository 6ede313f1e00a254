"""socklab's own route lookup over hand-made rules and routes (no kernel)."""

from socklab.stack import lookup
from socklab.stack.model import Route, Rule


def rule(prio, table, **kw):
    return Rule("inet", prio, "lookup", table, kw.pop("src", "all"), kw.pop("dst", "all"), **kw)


def route(dst, dst_len, table="main", metric=0, rtype="unicast", gw=None, dev="eth0"):
    return Route("inet", table, rtype, dst, dst_len, gw, dev, 2, None, metric, "static", "global")


RULES = [rule(0, "local"), rule(100, "100", dst="10.9.0.0/16"), rule(32766, "main"),
         rule(32767, "default")]
ROUTES = [
    route("default", 0, gw="192.0.2.1"),
    route("10.0.0.0/8", 8, gw="192.0.2.8"),
    route("10.1.0.0/16", 16, metric=20, gw="192.0.2.20"),
    route("10.1.0.0/16", 16, metric=10, gw="192.0.2.10"),
    route("10.9.0.0/16", 16, table="100", gw="192.0.2.99"),
    route("10.7.0.0/16", 16, rtype="blackhole", dev=None),
    route("127.0.0.0/8", 8, table="local", rtype="local", dev="lo"),
]


def test_longest_prefix_then_metric():
    ex = lookup.lookup("10.1.2.3", RULES, ROUTES)
    assert ex.winner.prefix == "10.1.0.0/16" and ex.winner.gateway == "192.0.2.10"
    assert [c.prefix for c in ex.candidates] == ["10.1.0.0/16", "10.1.0.0/16", "10.0.0.0/8",
                                                 "0.0.0.0/0"]
    assert "lower metric" in ex.why
    ex = lookup.lookup("10.200.0.1", RULES, ROUTES)
    assert ex.winner.prefix == "10.0.0.0/8" and "longest prefix" in ex.why


def test_rules_choose_the_table():
    ex = lookup.lookup("10.9.1.1", RULES, ROUTES)
    assert ex.table == "100" and ex.winner.gateway == "192.0.2.99"
    assert ex.rules[0].outcome.startswith("matched: table local has no route")
    ex = lookup.lookup("127.0.0.5", RULES, ROUTES)
    assert ex.table == "local" and ex.type == "local"


def test_errors_and_specials():
    assert lookup.lookup("10.7.0.1", RULES, ROUTES).error
    assert lookup.lookup("198.51.100.1", RULES, [r for r in ROUTES if r.dst != "default"]).error
    assert lookup.lookup("0.0.0.0", RULES, ROUTES).special == "local"
    assert lookup.lookup("224.0.0.1", RULES, ROUTES).type == "multicast"


def test_inverted_and_unmodelled_rules():
    rules = [rule(10, "100", dst="10.9.0.0/16", invert=True), *RULES[2:]]
    ex = lookup.lookup("10.1.1.1", rules, ROUTES)
    # not in 10.9/16: the inverted rule matches, table 100 has no route, main answers
    assert ex.rules[0].outcome == "matched: table 100 has no route for 10.1.1.1, go on"
    assert ex.table == "main" and ex.winner.prefix == "10.1.0.0/16"
    odd = [rule(5, "main", unmodelled=("uidrange",)), *RULES]
    assert lookup.lookup("10.1.1.1", odd, ROUTES).caveats
