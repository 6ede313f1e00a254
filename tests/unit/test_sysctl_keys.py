import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import NotFound
from socklab.stack import sysctl

component = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12)\
    .filter(lambda s: s.strip(".") == s and ".." not in s)


@given(st.sampled_from(["net", "kernel", "vm"]), st.lists(component, max_size=5))
def test_key_and_path_round_trip(top, parts):
    # the first component decides the separator (rule 2): top-level names have no dot
    path = "/".join([top, *parts])
    key = sysctl.path_to_key(path)
    assert sysctl.key_to_path(key) == path


def test_interface_names_with_dots_as_sysctl_spells_them():
    assert sysctl.key_to_path("net.ipv4.conf.eth0/1.forwarding") == \
        "net/ipv4/conf/eth0.1/forwarding"
    assert sysctl.key_to_path("net/ipv4/conf/eth0.1/forwarding") == \
        "net/ipv4/conf/eth0.1/forwarding"
    assert sysctl.path_to_key("net/ipv4/conf/eth0.1/forwarding") == \
        "net.ipv4.conf.eth0/1.forwarding"


def test_typed_values():
    assert sysctl.typed("1") == 1
    assert sysctl.typed("32768\t60999") == [32768, 60999]
    assert sysctl.typed("cubic") == "cubic"
    assert sysctl.typed("reno bbr") == "reno bbr"
    assert sysctl.typed("-1") == -1


def test_real_keys_and_errors():
    (port_range,) = sysctl.read("net.ipv4.ip_local_port_range")
    low, high = port_range.value
    assert 0 < low < high <= 65535
    assert len(sysctl.read("net.ipv4.tcp_*")) > 10
    assert all(s.key.startswith("net.ipv4.conf.lo.") for s in sysctl.read("net.ipv4.conf.lo"))
    with pytest.raises(NotFound, match=r"closest: net\.ipv4\.ip_forward"):
        sysctl.read("net.ipv4.ip_forwrd")
    with pytest.raises(NotFound):
        sysctl.explain("net.ipv4.no_such_thing")
    ex = sysctl.explain("net/ipv4/conf/lo/rp_filter")
    assert ex.key == "net.ipv4.conf.lo.rp_filter" and ex.value in (0, 1, 2)
    assert sysctl.explain("net.ipv4.ip_forward").bsd == "net.inet.ip.forwarding"
