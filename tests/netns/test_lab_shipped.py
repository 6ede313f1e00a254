"""Every shipped lab goes up, every exercise's checks give the documented result in the
starting state and, where the exercise has a solution, all pass once it is applied; the
lab goes down leaving nothing, and the host's stack is what it was."""

import pytest
from helpers import need_root, need_tool, run_cli
from lab_helpers import alive, leftovers, shipped_copy

from socklab.lab import build, checks, shipped
from socklab.stack import snapshot

pytestmark = pytest.mark.privileged


def test_the_course_labs_are_shipped():
    assert shipped.names() == ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6", "lab7"]
    for name in shipped.names():
        lab = shipped_copy(name)
        assert lab.title["en"] and lab.title["fr"] and lab.text["en"] and lab.text["fr"]
        assert lab.exercises and all(ex.checks for ex in lab.exercises.values())


@pytest.mark.parametrize("name", ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6"])
def test_shipped_lab(name):
    need_root()
    need_tool("ping", "nft")
    _run_shipped(name)


def _kernel_esp_error(ns) -> str | None:
    """None where the kernel has ESP, else its refusal of an SA (`ip xfrm state add`)."""
    tried = ns.exec("ip", "xfrm", "state", "add", "src", "10.9.0.1", "dst", "10.9.0.2",
                    "proto", "esp", "spi", "0x100", "mode", "transport", "enc", "cbc(aes)",
                    "0x" + "00" * 16, "auth-trunc", "hmac(sha256)", "0x" + "ab" * 32, "128",
                    check=False)
    return None if tried.returncode == 0 else tried.stderr.strip()


def test_the_ipsec_lab_fails_whole_where_the_kernel_has_no_esp(netns, tmp_path):
    """lab7 keys ESP at lab up: where the kernel lacks ESP, up exits 1 with one line
    naming the missing modules and the kernel's own words, and leaves nothing: no
    namespace, no state file, the host's stack as it was. Where the kernel has ESP,
    the lab goes up and down as every shipped lab does."""
    need_root()
    need_tool("ip", "ping", "nft")
    refused = _kernel_esp_error(netns)
    if refused is None:
        _run_shipped("lab7")
        return
    lab = shipped_copy("lab7")
    path = tmp_path / "lab7.toml"
    path.write_text(lab.source)
    before = snapshot.take()
    r = run_cli("lab", "up", str(path))
    assert r.returncode == 1, r.stderr
    err = r.stderr.decode()
    assert err.startswith("socklab: error: lab up: node h1: ipsec esp ") and err.count("\n") == 1
    assert "this kernel has no ESP (the esp4/esp6 modules" in err
    assert "Requested type not found" in refused and "Requested type not found" in err
    assert "0x000102030405060708090a0b0c0d0e0f" not in err  # no key in the message
    assert leftovers(lab.name) == []
    assert snapshot.diff(before, snapshot.take()) == []


def _run_shipped(name: str) -> None:
    lab = shipped_copy(name)
    before = snapshot.take()
    build.up(lab, f"shipped:{name}")
    try:
        state = build.read_state(lab.name)
        assert state is not None and state["phase"] == "up"
        pids = state["pids"]
        assert len(alive(pids)) == sum(len(n.services) for n in lab.nodes.values())
        for ex in lab.exercises.values():
            for c, r in zip(ex.checks, checks.run_exercise(lab, ex.name), strict=True):
                assert r.passed == (c.start == "pass"), (ex.name, r)
        for ex in lab.exercises.values():
            if not ex.solution:
                continue
            for node, code, out in build.solve(lab, ex.name):
                assert code == 0, (node, out)
            results = checks.run_exercise(lab, ex.name)
            assert all(r.passed for r in results), (ex.name, results)
    finally:
        build.down(lab.name)
    assert leftovers(lab.name) == []
    assert alive(pids) == []
    assert snapshot.diff(before, snapshot.take()) == []
