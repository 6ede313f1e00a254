"""Standard output that refuses what is written (closed, a full disk) is said as
coreutils say it, `socklab: error: write error: ...`, exit 1: never a bug's line."""

from __future__ import annotations

import subprocess

import pytest
from helpers import SOCKLAB

COMMANDS = [["tour", "--list"], ["sockets", "-tan"], ["--json", "link"], ["route"],
            ["route", "get", "127.0.0.1"]]


def _one_error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith("socklab: error: write error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_full_disk_is_a_write_error(args):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*SOCKLAB, *args], stdout=full, stderr=subprocess.PIPE,
                              timeout=60)
    assert "No space left on device" in _one_error_line(proc)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_closed_stdout_is_a_write_error(args):
    # sh closes fd 1 before exec: the interpreter then starts with sys.stdout None
    proc = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *SOCKLAB, *args],
                          stderr=subprocess.PIPE, timeout=60)
    assert "closed" in _one_error_line(proc)
