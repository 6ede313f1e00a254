"""The change grammar never fails with anything but socklab's errors, and never sends
when asked for a dry run: Hypothesis over word lists made of the grammar's own
keywords and hostile values. Read-only: every call is a dry run (it reads the
devices of the current namespace to check names, and sends nothing)."""

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socklab.cli import stackchange
from socklab.errors import SocklabError

KEYWORDS = ["dev", "lo", "up", "down", "mtu", "address", "name", "promisc", "on", "off",
            "txqueuelen", "master", "nomaster", "type", "veth", "bridge", "vxlan", "tap",
            "peer", "id", "remote", "local", "dstport", "label", "broadcast", "brd", "+",
            "scope", "link", "host", "global", "via", "metric", "src", "table", "main",
            "proto", "static", "onlink", "nexthop", "weight", "blackhole", "unreachable",
            "default", "priority", "from", "to", "iif", "oif", "fwmark", "lookup", "lladdr",
            "nud", "permanent", "stale", "all", "to"]
VALUES = ["10.0.0.0/8", "10.0.0.1", "127.0.0.1", "::1", "fe80::1", "2001:db8::/32",
          "0.0.0.0/0", "10.0.0.1/33", "1.2.3.4/8", "02:00:00:00:00:01", "ff:ff", "0", "1",
          "-1", "65536", "4294967296", "0x10/0xff", "", "a" * 20, "lo:1", "x\udcff",
          "9" * 5000, "nan", "/", ".."]
# a head value, then keyword/value pairs (the grammar's shape), sometimes shuffled
words = st.one_of(
    st.lists(st.sampled_from(KEYWORDS + VALUES), max_size=10),
    st.tuples(st.sampled_from([*VALUES, "lo", "default"]),
              st.lists(st.tuples(st.sampled_from(KEYWORDS), st.sampled_from(VALUES + KEYWORDS)),
                       max_size=4))
    .map(lambda t: [t[0]] + [w for pair in t[1] for w in pair]),
)


class Args:
    json = False
    change_explain = False
    change_dry_run = True
    family = None


@pytest.mark.parametrize("command, verb", [(c, v) for c, verbs in stackchange.VERBS.items()
                                           for v in verbs])
@settings(max_examples=60, deadline=None)
@given(w=words)
def test_only_socklab_errors_and_nothing_sent(command, verb, w):
    try:
        done = stackchange.PARSERS[command]("del" if verb == "delete" else verb,
                                            stackchange.Words(f"{command} {verb}", w),
                                            None, True)
    except SocklabError:
        return
    assert not done.sent
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stackchange.show(done, Args())  # the dry run prints the request read back
    assert "nothing was sent" in out.getvalue()


@pytest.mark.parametrize("command, verb, line, ip_line", [
    ("link", "set", "lo mtu 1400 txqlen 5 promisc on",
     "ip link set dev lo mtu 1400 promisc on txqueuelen 5"),
    ("link", "add", "br9 type bridge", "ip link add br9 type bridge"),
    ("link", "add", "vx9 type vxlan id 7 remote 192.0.2.1 dstport 4789",
     "ip link add vx9 type vxlan id 7 remote 192.0.2.1 dstport 4789"),
    ("addr", "add", "10.9.0.1/24 dev lo label lo:9 brd +",
     "ip addr add 10.9.0.1/24 broadcast 10.9.0.255 dev lo label lo:9"),
    ("route", "add", "blackhole 10.9.0.0/16 table 100 metric 5",
     "ip route add blackhole 10.9.0.0/16 metric 5 table 100"),
    ("route", "replace", "10.9.0.0/16 dev lo proto static",
     "ip route replace 10.9.0.0/16 dev lo proto static"),
    ("route", "add", "default via 127.0.0.1 dev lo onlink",
     "ip route add default via 127.0.0.1 dev lo onlink"),
    ("rule", "add", "pref 5 from 10.9.0.0/16 fwmark 0x1/0xf table main",
     "ip rule add priority 5 from 10.9.0.0/16 fwmark 0x1/0xf lookup main"),
    ("neigh", "add", "10.9.0.2 lladdr 02:00:00:00:00:02 dev lo nud stale",
     "ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev lo nud stale"),
])
def test_valid_lines_give_a_request_and_their_ip_line(command, verb, line, ip_line):
    done = stackchange.PARSERS[command](verb, stackchange.Words("t", line.split()), None,
                                        True)
    assert (done.sent, done.ip) == (False, ip_line)
    assert len(done.requests) == 1


@pytest.mark.parametrize("command, verb, rest, ip_line", [
    ("link", "set", ["up"], "ip link set dev lo up"),
    ("link", "del", [], "ip link del dev lo"),
    ("addr", "flush", [], "ip addr flush dev lo"),
    ("neigh", "flush", [], "ip neigh flush dev lo"),
])
def test_the_device_is_named_with_or_without_dev(command, verb, rest, ip_line):
    lines = [stackchange.PARSERS[command](verb, stackchange.Words("t", [*dev, *rest]), None,
                                          True).ip for dev in (["lo"], ["dev", "lo"])]
    assert lines == [ip_line, ip_line]
    with pytest.raises(SocklabError, match="expected a device"):
        stackchange.PARSERS[command](verb, stackchange.Words("t", ["dev"]), None, True)


# whole batch files: the grammar's words as lines, with comments, blanks and junk
batch_lines = st.lists(st.one_of(
    st.tuples(st.sampled_from([*stackchange.VERBS, "address", "neighbour", "foo", "#"]),
              st.sampled_from([*{v for vs in stackchange.VERBS.values() for v in vs}, "x"]),
              words).map(lambda t: " ".join([t[0], t[1], *t[2]])),
    st.text(max_size=40), st.just(""), st.just("   # a comment")), max_size=8)


@settings(max_examples=150, deadline=None)
@given(lines=batch_lines)
def test_a_batch_plan_raises_only_bad_input_naming_its_line(lines):
    from socklab.stack import batch

    try:
        planned = batch.plan(lines, source="f")
    except SocklabError as exc:
        assert exc.exit_code == 2
        assert str(exc).startswith("f:")
        line = int(str(exc).split(":")[1])
        assert 1 <= line <= len(lines)
        return
    assert all(not ln.change.sent for ln in planned)
    assert [ln.number for ln in planned] == sorted({ln.number for ln in planned})
