"""'socklab lab' from the command line: up, status, exec, check (text and --json,
exit 0 only when every check passes), draw (text and SVG), list, down."""

import json
import xml.etree.ElementTree as ET

import pytest
from helpers import need_root, need_tool, run_cli
from lab_helpers import leftovers, renamed, unique_name

from socklab.lab import shipped

pytestmark = pytest.mark.privileged


def _ok(*args: str) -> str:
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_lab_commands(tmp_path):
    need_root()
    need_tool("ping")
    name = unique_name()
    path = tmp_path / "lab1.toml"
    path.write_text(renamed(shipped.text("lab1"), name))
    _ok("lab", "up", str(path))
    try:
        again = run_cli("lab", "up", str(path))
        assert again.returncode == 2 and b"is up already" in again.stderr
        status = json.loads(_ok("--json", "lab", "status", name))[0]
        assert [n["node"] for n in status["nodes"]] == ["h1", "r1", "h2"]
        assert status["nodes"][0]["interfaces"] == [
            {"name": "eth0", "up": True, "addresses": ["10.0.1.10/24"]}]
        assert name in _ok("lab", "list")
        # the starting state: the exercise fails, exit 1, with the reasons
        proc = run_cli("lab", "check", name, "forward", "--json")
        assert proc.returncode == 1
        report = json.loads(proc.stdout)
        assert report["passed"] is False
        seen = {c["check"]: c for c in report["exercises"][0]["checks"]}
        assert seen["h1: ping 10.0.2.10"]["passed"] is False
        assert seen["r1: sysctl net.ipv4.ip_forward"]["reason"].endswith("= 0")
        # exec runs in the node and gives the command's exit status
        assert run_cli("lab", "exec", f"{name}:h1", "--", "sh", "-c", "exit 3").returncode == 3
        killed = run_cli("lab", "exec", f"{name}:h1", "--", "sh", "-c", "kill -TERM $$")
        assert killed.returncode == 128 + 15  # as a shell reports a signal
        _ok("lab", "exec", f"{name}:r1", "--", "socklab", "sysctl", "-w",
            "net.ipv4.ip_forward=1")
        # a shell in the node, its prompt naming it (bash -i prompts on stderr)
        shell = run_cli("lab", "shell", f"{name}:h1",
                        input=b"ip -br addr show dev eth0\nexit 5\n")
        assert shell.returncode == 5, shell.stderr
        assert b"10.0.1.10/24" in shell.stdout
        assert f"[{name}:h1]".encode() in shell.stderr
        text = _ok("lab", "check", name)
        assert "FAIL" not in text and "all checks pass" in text
        drawn = _ok("lab", "draw", name, "--svg", str(tmp_path / "lab.svg"))
        assert "h1:eth0 10.0.1.10/24" in drawn and "r1:eth0 10.0.1.1/24" in drawn
        svg = ET.parse(tmp_path / "lab.svg").getroot()
        labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
        assert {"h1", "r1", "h2"} <= set(labels)
        assert "eth0 10.0.1.10/24" in labels
    finally:
        _ok("lab", "down", name)
    assert leftovers(name) == []
    gone = run_cli("lab", "down", name)
    assert gone.returncode == 2 and b"not up" in gone.stderr


def test_exec_in_a_node_that_is_not_there():
    need_root()
    proc = run_cli("lab", "exec", "nolab:h1", "--", "true")
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("socklab: error: lab node 'nolab:h1'")


def test_list_names_the_shipped_labs():
    rows = json.loads(_ok("--json", "lab", "list"))
    assert [r["name"] for r in rows if r["shipped"]] == shipped.names()


def test_the_tour_builds_lab1_and_flips_forwarding():
    need_root()
    need_tool("ping")
    proc = run_cli("--json", "tour", "lab")
    assert proc.returncode == 0, proc.stderr
    (section,) = json.loads(proc.stdout)
    assert section["status"] == "ok", section["reason"]
    pings = [f["value"] for f in section["steps"]
             if f["kind"] == "fact" and f["label"] == "ping h1 -> h2"]
    assert [p.split(":")[0] for p in pings] == ["fail", "pass"]
    up = next(f["value"] for f in section["steps"] if f.get("label") == "lab up")
    assert leftovers(up.split(",")[0].removeprefix("sl-")) == []
