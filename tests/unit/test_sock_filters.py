import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadInput
from socklab.socktable import filters
from socklab.socktable.model import SocketRecord


def rec(state="ESTAB", lport=1000, rport=80, laddr="127.0.0.1", raddr="127.0.0.2",
        netid="tcp", family="inet"):
    return SocketRecord(netid, family, state, 0, 0, laddr, lport, raddr, rport, 1)


def test_state_words_and_groups_follow_ss():
    assert filters.parse_states(["established"]) == {1}
    assert filters.parse_states(["listening", "time-wait"]) == {10, 6}
    assert filters.parse_states(["bucket"]) == {3, 12, 6}
    connected = filters.parse_states(["connected"])
    assert 10 not in connected and 7 not in connected and 6 in connected
    assert filters.parse_states(["synchronized"]) == connected - {2}
    assert filters.parse_states(["big"]) == filters.ALL_STATES - {3, 12, 6}
    with pytest.raises(BadInput, match="bogus"):
        filters.parse_states(["bogus"])


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_port_ranges(a, b):
    lo, hi = sorted((a, b))
    assert filters.parse_port_range(f"{lo}-{hi}") == (lo, hi)
    assert filters.parse_port_range(f":{lo}") == (lo, lo)


@pytest.mark.parametrize("bad", ["", "x", "70000", "5-1", "-1", "1-2-3"])
def test_bad_port_ranges(bad):
    with pytest.raises(BadInput):
        filters.parse_port_range(bad)


def test_default_query_is_connected_only():
    q = filters.build_query(["tcp"])
    assert q.matches(rec("ESTAB")) and not q.matches(rec("LISTEN"))
    assert not q.matches(rec("TIME-WAIT")) and not q.matches(rec("UNCONN"))
    assert filters.build_query(["tcp"], listening=True).matches(rec("LISTEN"))
    assert filters.build_query(["tcp"], all_states=True).matches(rec("TIME-WAIT"))


def test_kind_family_port_and_address_filters():
    q = filters.build_query(["udp"], all_states=True)
    assert not q.matches(rec()) and q.matches(rec(netid="udp"))
    q4 = filters.build_query(ipv4=True, all_states=True)
    assert q4.matches(rec()) and not q4.matches(rec(family="inet6", laddr="::1", raddr="::1"))
    assert q4.netids == filters.INET_NETIDS
    qp = filters.build_query(["tcp"], all_states=True, sport="900-1100", dport=80)
    assert qp.matches(rec()) and not qp.matches(rec(lport=2000)) and not qp.matches(rec(rport=81))
    qa = filters.build_query(["tcp"], all_states=True, src="127.0.0.0/8", dst="127.0.0.2")
    assert qa.matches(rec()) and not qa.matches(rec(raddr="127.0.0.3"))
    mapped = rec(family="inet6", laddr="::ffff:127.0.0.1", raddr="::ffff:127.0.0.2")
    assert qa.matches(mapped)  # IPv4-mapped addresses belong to the IPv4 network


@pytest.mark.parametrize("kw", [{"kinds": ["tcpx"]}, {"src": "300.1.1.1"}, {"dst": "x/99"},
                                {"states": ["nope"]}, {"sport": "http"}])
def test_bad_words_are_bad_input(kw):
    with pytest.raises(BadInput):
        filters.build_query(**kw)
