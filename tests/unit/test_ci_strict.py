"""The conftest rule: under CI as root, a skip is a failure; elsewhere it stays a skip."""

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

INNER = """
import pytest

@pytest.mark.privileged
def test_needs_something():
    pytest.skip("would need something")
"""


def _run(pytester, monkeypatch, ci):
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.syspathinsert(TESTS)
    pytester.makepyfile(test_inner=INNER)
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider")


def test_skip_is_failure_under_ci_as_root(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, ci=True)
    if os.geteuid() == 0:
        result.assert_outcomes(failed=1)
    else:
        result.assert_outcomes(skipped=1)


def test_skip_stays_skip_without_ci(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, ci=False)
    result.assert_outcomes(skipped=1)


KERNEL_FEATURE = """
import pytest

@pytest.mark.needs_kernel_feature
def test_probes_the_kernel():
    pytest.skip("kernel: Requested type not found")

@pytest.mark.privileged
def test_other_marker():
    pytest.skip("would need something")
"""


def test_only_a_kernel_feature_probe_may_skip_under_ci_as_root(pytester, monkeypatch):
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.syspathinsert(TESTS)
    pytester.makepyfile(test_inner=KERNEL_FEATURE)
    pytester.makeini("[pytest]\nmarkers =\n    needs_kernel_feature: a kernel probe\n"
                     "    privileged: root\n")
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-m",
                                          "needs_kernel_feature or privileged")
    if os.geteuid() == 0:
        result.assert_outcomes(skipped=1, failed=1)
    else:
        result.assert_outcomes(skipped=2)
