"""Every shipped lab goes up, every exercise's checks give the documented result in the
starting state and, where the exercise has a solution, all pass once it is applied; the
lab goes down leaving nothing, and the host's stack is what it was."""

import pytest
from helpers import need_root, need_tool
from lab_helpers import alive, leftovers, shipped_copy

from socklab.lab import build, checks, shipped
from socklab.stack import snapshot

pytestmark = pytest.mark.privileged


def test_the_course_labs_are_shipped():
    assert shipped.names() == ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6"]
    for name in shipped.names():
        lab = shipped_copy(name)
        assert lab.title["en"] and lab.title["fr"] and lab.text["en"] and lab.text["fr"]
        assert lab.exercises and all(ex.checks for ex in lab.exercises.values())


@pytest.mark.parametrize("name", ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6"])
def test_shipped_lab(name):
    need_root()
    need_tool("ping", "nft")
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
