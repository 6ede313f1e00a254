"""The per-device net.* sysctls a snapshot reads from rtnetlink equal the /proc/sys files,
key for key and text for text, in a namespace whose values were moved off their
defaults (units the kernel converts, signed and unsigned values, a name with a dot,
a device whose queue differs from the others')."""

import pytest

from socklab.kernel import netns as knetns
from socklab.stack import snapshot

pytestmark = pytest.mark.privileged

CHANGED = {
    # IPv4 conf: plain, and signed (medium_id -1 is the default, 4294967295 in netlink)
    "net.ipv4.conf.v0.rp_filter": "2", "net.ipv4.conf.v0.arp_ignore": "1",
    "net.ipv4.conf.v1.medium_id": "5", "net.ipv4.conf.br0.proxy_arp": "1",
    # IPv6 conf: milliseconds in netlink, seconds in /proc; unsigned ones
    "net.ipv6.conf.v0.router_solicitation_interval": "7",
    "net.ipv6.conf.v0.router_solicitation_delay": "3",
    "net.ipv6.conf.v0.router_probe_interval": "120",
    "net.ipv6.conf.v1.mtu": "1400", "net.ipv6.conf.v1.hop_limit": "9",
    "net.ipv6.conf.v1.ioam6_id_wide": "123", "net.ipv6.conf.br0.ra_defrtr_metric": "77",
    "net.ipv6.conf.v0.mldv1_unsolicited_report_interval": "4000",
    "net.ipv6.conf.v1.stable_secret": "2001:0db8:0000:0000:0001:0002:0003:0004",
    # neighbour parameters: seconds, hundredths (USER_HZ) and milliseconds (multiples of
    # 20 ms: the kernel keeps jiffies, 4 ms at HZ=250)
    "net.ipv4.neigh.v0.base_reachable_time_ms": "12340",
    "net.ipv4.neigh.v0.locktime": "250", "net.ipv4.neigh.v0.anycast_delay": "60",
    "net.ipv4.neigh.v1.proxy_delay": "40", "net.ipv4.neigh.v1.gc_stale_time": "77",
    "net.ipv6.neigh.v0.delay_first_probe_time": "9",
    "net.ipv6.neigh.v0.retrans_time_ms": "1240",
    "net.ipv6.neigh.v1.interval_probe_time_ms": "780",
    "net.ipv4.neigh.v1.unres_qlen_bytes": "100000",  # its unres_qlen is read from its file
    "net.ipv4.neigh.v0.mcast_solicit": "7",
}


def test_netlink_sysctls_equal_the_proc_files_for_every_key(netns):
    netns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    netns.ip("link", "add", "br0", "type", "bridge")
    netns.ip("link", "add", "a.b", "type", "veth", "peer", "name", "c.d")  # key a/b
    netns.ip("tuntap", "add", "t0", "mode", "tap")
    for key, value in CHANGED.items():
        netns.exec("sysctl", "-qw", f"{key}={value}")
    with knetns.entered(netns.name):
        derived = snapshot.net_sysctls()
        files = snapshot.net_sysctls("proc")
    assert set(derived) == set(files)
    assert [k for k in files if derived[k] != files[k]] == []
    assert list(derived) == list(files)  # the same order: the snapshot's text is the same
    for key, value in CHANGED.items():
        assert derived[key] == value, key
    assert derived["net.ipv4.conf.a/b.forwarding"] == files["net.ipv4.conf.a/b.forwarding"]
    devices = {k.split(".")[3] for k in derived if k.startswith("net.ipv6.conf.")}
    assert {"lo", "v0", "v1", "br0", "a/b", "c/d", "t0", "all", "default"} <= devices
    assert len(derived) > 1000
