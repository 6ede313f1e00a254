"""A lab's life: bad files refused with nothing made, a failed up rolled back whole,
a killed up cleaned by down, two labs side by side, no privilege exit 77."""

import itertools
import os
import signal
import subprocess
import time

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli
from lab_helpers import leftovers, renamed, shipped_copy, unique_name

from socklab.errors import BadInput, NetworkError
from socklab.kernel import netns as knetns
from socklab.lab import build, checks, shipped
from socklab.lab.topology import parse
from socklab.stack import snapshot

pytestmark = pytest.mark.privileged

# a syntax error, an unknown node, a bad address, a bad check: each with its line
BAD = [
    ('name = "NAME"\n[nodes.h1\n', 2, "TOML syntax"),
    ('name = "NAME"\n[nodes.h1]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n', 4,
     "no node 'h2'"),
    ('name = "NAME"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.1"]\n', 7, "prefix length"),
    ('name = "NAME"\n[nodes.h1]\nroutes = [{ to = "default", via = "10.0.0.256" }]\n', 3,
     "not an IP address"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD)
def test_bad_files_are_refused_and_nothing_is_made(tmp_path, text, line, problem):
    need_root()
    name = unique_name()
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("NAME", name))
    proc = run_cli("lab", "up", str(path))
    if proc.returncode == 0:
        run_cli("lab", "down", name)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.startswith(f"socklab: error: {path}:{line}: "), err
    assert problem in err and "Traceback" not in err
    assert leftovers(name) == []


def test_a_failed_up_is_rolled_back_and_names_the_entry():
    need_root()
    name = unique_name()
    text = renamed(shipped.text("lab1"), name)
    # the last step fails: a service on an address the node does not have
    text = text.replace('[nodes.h2]\n',
                        '[nodes.h2]\nservices = [{ listen = "tcp:10.9.9.9:80" }]\n')
    lab = parse(text, "lab1.toml")
    before = snapshot.take()
    with pytest.raises(NetworkError) as info:
        build.up(lab)
    assert "node h2: service tcp:10.9.9.9:80" in str(info.value)
    assert leftovers(name) == []
    assert snapshot.diff(before, snapshot.take()) == []


def test_a_bad_gateway_is_rolled_back_and_names_the_route():
    need_root()
    name = unique_name()
    text = renamed(shipped.text("lab2"), name)
    text = text.replace('[nodes.h1]\n',
                        '[nodes.h1]\nroutes = [{ to = "10.7.0.0/16", via = "10.9.9.9" }]\n')
    with pytest.raises((BadInput, NetworkError)) as info:
        build.up(parse(text, "lab2.toml"))
    assert "node h1: route 10.7.0.0/16 via 10.9.9.9" in str(info.value)
    assert leftovers(name) == []


def test_up_twice_says_so_and_force_rebuilds():
    need_root()
    lab = shipped_copy("lab2")
    build.up(lab)
    try:
        with pytest.raises(BadInput, match="is up already"):
            build.up(lab)
        build.solve(lab, "default-route")
        assert all(r.passed for r in checks.run_exercise(lab, "default-route"))
        build.up(lab, force=True)  # the starting state again
        assert not any(r.passed for r in checks.run_exercise(lab, "default-route")[:2])
    finally:
        build.down(lab.name)
    assert leftovers(lab.name) == []


def _big(name: str) -> str:
    """Twenty routers in a line: long enough to be killed in the middle."""
    nodes = [f"r{i}" for i in range(20)]
    out = [f'name = "{name}"']
    out += [f'[nodes.{n}]\nkind = "router"' for n in nodes]
    out += [f'[[links]]\nendpoints = ["{a}:e1", "{b}:e0"]' for a, b in itertools.pairwise(nodes)]
    return "\n".join(out) + "\n"


def test_a_killed_up_is_cleaned_by_down(tmp_path):
    need_root()
    name = unique_name()
    path = tmp_path / "big.toml"
    path.write_text(_big(name))
    proc = subprocess.Popen([*SOCKLAB, "lab", "up", str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(2000):  # until some of the lab exists (bounded: 10 s)
            if any(ns.startswith(f"sl-{name}-") for ns in knetns.named()):
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert leftovers(name), "the kill came too late to test anything"
    done = run_cli("lab", "down", name)
    assert done.returncode == 0, done.stderr
    assert leftovers(name) == []


def test_two_labs_at_once_do_not_interfere():
    need_root()
    need_tool("ping")
    a, b = shipped_copy("lab1"), shipped_copy("lab1")
    build.up(a)
    try:
        build.up(b)
        try:
            build.solve(a, "forward")
            assert all(r.passed for r in checks.run_exercise(a, "forward"))
            seen_b = [r.passed for r in checks.run_exercise(b, "forward")]
            assert seen_b == [True, True, False, False]
        finally:
            build.down(b.name)
        assert leftovers(b.name) == [] and leftovers(a.name) != []
        assert all(r.passed for r in checks.run_exercise(a, "forward"))
    finally:
        build.down(a.name)
    assert leftovers(a.name) == []


def test_without_privilege_exit_77_names_the_capabilities():
    need_root()
    need_tool("setpriv")
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           *SOCKLAB, "lab", "up", "lab1"], capture_output=True, cwd="/tmp")
    err = proc.stderr.decode()
    assert proc.returncode == 77, err
    assert "CAP_NET_ADMIN" in err and "CAP_SYS_ADMIN" in err
    assert "Traceback" not in err


def test_two_ups_of_one_lab_at_once_build_it_once(tmp_path):
    need_root()
    need_tool("ping")
    name = unique_name()
    path = tmp_path / "lab1.toml"
    path.write_text(renamed(shipped.text("lab1"), name))
    procs = [subprocess.Popen([*SOCKLAB, "lab", "up", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    try:
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 2], outs
        loser = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode)
        assert b"is up already" in loser or b"being built" in loser
        lab = build.lab_of_state(name)
        assert [r.passed for r in checks.run_exercise(lab, "forward")][:2] == [True, True]
    finally:
        run_cli("lab", "down", name)
    assert leftovers(name) == []


def test_a_namespace_not_the_labs_is_refused_and_left_alone():
    need_root()
    lab = shipped_copy("lab1")
    foreign = lab.namespace("r1")
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        with pytest.raises(BadInput, match=f"namespace {foreign} exists already"):
            build.up(lab)
        assert foreign in knetns.named()
        assert leftovers(lab.name) == [foreign]
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)
