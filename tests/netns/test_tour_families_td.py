"""Tour sections 2.1.1 (one socket of each family) and 3.2 (the TD in Python): what
socket() answers as root and as nobody, and the TD's lines running for real."""

import json

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

pytestmark = pytest.mark.privileged


def _facts(stdout: bytes, name: str) -> dict:
    (section,) = [s for s in json.loads(stdout) if s["name"] == name]
    assert section["status"] == "ok", section["reason"]
    return {s["label"]: s["value"] for s in section["steps"] if s["kind"] == "fact"}


def test_families_as_root_every_course_family_gives_a_socket():
    need_root()
    proc = run_cli("--json", "tour", "families")
    assert proc.returncode == 0, proc.stderr
    facts = _facts(proc.stdout, "families")
    for family in ("PF_UNIX", "PF_INET", "PF_INET6", "PF_INET SOCK_RAW", "PF_PACKET",
                   "PF_NETLINK"):
        assert facts[family].startswith("fd "), (family, facts[family])
    # the kernel's own answers for what does not fit
    assert facts["socket(250, SOCK_STREAM, 0)"] == "EAFNOSUPPORT"
    assert facts["socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)"] == "EPROTONOSUPPORT"
    assert facts["socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE)"] == "ESOCKTNOSUPPORT"


def test_families_as_nobody_raw_and_packet_are_eperm(netns):
    need_tool("setpriv")
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      *SOCKLAB, "--json", "tour", "2.1.1", "--lang", "fr",
                      check=False, cwd="/tmp")
    assert proc.returncode == 0, proc.stderr
    facts = _facts(proc.stdout, "families")
    assert facts["PF_PACKET"] == "EPERM" and facts["PF_INET SOCK_RAW"] == "EPERM"
    assert facts["PF_UNIX"].startswith("fd ") and facts["PF_NETLINK"].startswith("fd ")
    (section,) = [s for s in json.loads(proc.stdout) if s["name"] == "families"]
    calls = [s["text"] for s in section["steps"] if s["kind"] == "call"]
    assert "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = -1 EPERM" in " ".join(calls)
    said = " ".join(s["text"] for s in section["steps"] if s["kind"] == "say")
    assert "EPERM : ce processus n'a pas CAP_NET_RAW" in said


def test_td_runs_each_python_line_beside_its_calls():
    proc = run_cli("--json", "tour", "3.2")
    assert proc.returncode == 0, proc.stderr
    (td,) = json.loads(proc.stdout)
    assert td["name"] == "td" and td["status"] == "ok", td["reason"]
    steps = td["steps"]
    code = [s["data"] for s in steps if s["kind"] == "table" and "python" in (s["data"] or {})]
    assert code[0]["python"] == "srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)"
    # each line is followed by the calls it made: connect's line by a connect to srv's port
    i = next(n for n, s in enumerate(steps) if s["kind"] == "table"
             and (s["data"] or {}).get("python") == "cli.connect(srv.getsockname())")
    port = steps[i + 1]["event"]["result"].rsplit(":", 1)[1]  # getsockname(srv)
    assert steps[i + 2]["event"]["call"] == "connect"
    assert steps[i + 2]["event"]["args"] == [f"127.0.0.1:{port}"]
    facts = {s["label"]: s["value"] for s in steps if s["kind"] == "fact"}
    assert facts["the client read"] == "b'BONJOUR, TD 3'"
    assert facts["the server's last recv"] == "b''"
    course = next(s["data"]["course_code"] for s in steps if s["kind"] == "table")
    assert "socket.socket(socket.AF_INET, socket.SOCK_STREAM)" in course


def test_tour_help_says_where_the_course_code_is():
    proc = run_cli("tour", "--help")
    assert b"run line by line" in proc.stdout and b"section 3.2" in proc.stdout
