"""The tour never fails on an ordinary machine: run it as an unprivileged user."""

import json

import pytest
from helpers import SOCKLAB, need_tool

pytestmark = pytest.mark.privileged


def test_tour_as_nobody_skips_only_what_needs_privilege(netns):
    need_tool("setpriv")
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=1 0")
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      *SOCKLAB, "--json", "tour", check=False, cwd="/tmp")
    assert proc.returncode == 0, proc.stderr
    status = {s["name"]: s["status"] for s in json.loads(proc.stdout)}
    assert status.pop("ping") == "skipped"
    assert status.pop("change") == "skipped"  # needs CAP_SYS_ADMIN and CAP_NET_ADMIN
    assert status.pop("lab") == "skipped"  # the same
    assert status.pop("filter") == "skipped"  # a namespace of its own, nft
    assert status.pop("ipsec") == "skipped"  # xfrm answers CAP_NET_ADMIN only
    assert set(status.values()) == {"ok"}
