"""sysctl -w in a fresh namespace: the value is checked against the key's type before
anything is written, the old value is printed, and without privilege exit 77."""

import pytest
from helpers import SOCKLAB, need_tool, run_cli

pytestmark = pytest.mark.privileged


def _now(ns, key):
    return ns.exec("sysctl", "-n", key).stdout.strip()


def test_write_prints_the_old_value(netns):
    proc = run_cli("--netns", netns.name, "sysctl", "-w", "net.ipv4.ip_forward=1",
                   "-w", "net.ipv4.ip_local_port_range=20000 30000")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == [
        "net.ipv4.ip_forward = 1 (was 0)",
        "net.ipv4.ip_local_port_range = 20000\t30000 (was 32768\t60999)"]
    assert (_now(netns, "net.ipv4.ip_forward"),
            _now(netns, "net.ipv4.ip_local_port_range")) == ("1", "20000\t30000")


@pytest.mark.parametrize("setting", [
    "net.ipv4.ip_forward=yes", "net.ipv4.ip_forward=2", "net.ipv4.ip_forward=1 0",
    "net.ipv4.ip_local_port_range=30000 20000", "net.ipv4.ip_local_port_range=20000",
    "net.ipv4.ip_local_port_range=0 70000", "net.core.somaxconn=lots",
])
def test_a_value_of_the_wrong_type_changes_nothing(netns, setting):
    key = setting.split("=", 1)[0]
    before = _now(netns, key)
    proc = run_cli("--netns", netns.name, "sysctl", "-w", setting)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith(f"socklab: error: sysctl -w {key}=")
    assert _now(netns, key) == before


def test_without_privilege_exit_77(netns):
    need_tool("setpriv")
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      "--inh-caps=-all", *SOCKLAB, "sysctl", "-w", "net.ipv4.ip_forward=1",
                      check=False, cwd="/tmp")
    assert proc.returncode == 77 and "CAP_NET_ADMIN" in proc.stderr, proc.stderr
    assert _now(netns, "net.ipv4.ip_forward") == "0"
