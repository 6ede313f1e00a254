"""The stack commands from the command line, on this machine's loopback."""

import json
import os

import pytest
from helpers import run_cli

from socklab.cli import main as cli


def test_link_json_has_lo(capsys):
    assert cli.main(["--json", "link"]) == 0
    links = {link["name"]: link for link in json.loads(capsys.readouterr().out)}
    assert links["lo"]["kind"] == "loopback" and "LOOPBACK" in links["lo"]["flags"]


def test_ifconfig_style_shows_loopback(capsys):
    assert cli.main(["link", "lo", "--style", "ifconfig"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lo: flags=") and "inet 127.0.0.1  netmask 255.0.0.0" in out


def test_addr_route_rule_neigh_json(capsys):
    for argv in (["addr", "lo"], ["route", "--table", "local"], ["rule"], ["neigh", "-a"]):
        assert cli.main(["--json", *argv]) == 0
        assert isinstance(json.loads(capsys.readouterr().out), list)


def test_route_get_loopback_explained(capsys):
    assert cli.main(["route", "get", "127.0.0.1"]) == 0
    out = capsys.readouterr().out
    assert "table local" in out and "127.0.0.1/32" in out and "agree" in out
    assert cli.main(["--json", "route", "get", "::1"]) == 0
    ex = json.loads(capsys.readouterr().out)
    assert ex["agrees"] is True and ex["winner"]["prefix"] == "::1/128"


def test_sysctl_reads_and_explains(capsys):
    assert cli.main(["sysctl", "-n", "net.ipv4.ip_local_port_range"]) == 0
    assert len(capsys.readouterr().out.split()) == 2
    assert cli.main(["--json", "sysctl", "--explain", "net.ipv4.tcp_syncookies"]) == 0
    assert json.loads(capsys.readouterr().out)["bsd"] == "net.inet.tcp.syncookies"


@pytest.mark.parametrize("argv", [
    ["link", "no-such-dev"], ["addr", "no-such-dev"], ["route", "get", "300.1.1.1"],
    ["route", "get"], ["route", "--table", "nosuchtable"], ["sysctl", "net.ipv4.nope"],
    ["sysctl", "-w", "novalue"], ["sysctl", "--explain", "kernel.nope"],
])
def test_bad_input_exits_2(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode().count("\n") == 1 and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [
    ["sysctl", "net/../../../etc/hostname"], ["sysctl", "net/../../../etc/*"],
    ["sysctl", "net/../../../root"], ["sysctl", "/etc/hostname"], ["sysctl", ""],
    ["sysctl", ".."], ["sysctl", "net..ipv4"], ["sysctl", "--explain", ""],
    ["sysctl", "-w", "net/../../../tmp/socklab-must-not-exist=PWNED"],
    ["sysctl", "-w", "net.ipv4.ip_forward=\udcff"],
])
def test_sysctl_keys_that_leave_proc_sys_exit_2(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("socklab: error: sysctl"), err
    assert proc.stdout == b""
    assert not os.path.exists("/tmp/socklab-must-not-exist")
