"""Standard input closed (``<&-``): Python sets ``sys.stdin`` to None. Every command that
reads stdin says so in one line, exit 2, never "internal error"; and the files a user
names are read by one function (socklab.userfiles.read_input) with the same errors."""

from __future__ import annotations

import socket
import subprocess

import pytest
from helpers import SOCKLAB

from socklab.errors import BadInput, NotFound
from socklab.userfiles import read_input

CLOSED = ["sh", "-c", 'exec "$@" <&-', "closed"]


def _run_closed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLOSED, *SOCKLAB, *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("argv", [["-batch", "-", "--dry-run"], ["diff", "-"],
                                  ["connect", "udp:127.0.0.1:9"]])
def test_closed_stdin_is_one_line_exit_2(argv: list[str]) -> None:
    done = _run_closed(*argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("socklab: error: ")
    assert "standard input is closed" in done.stderr
    assert "internal error" not in done.stderr


def test_closed_stdin_tcp_client() -> None:
    """The TCP client connects, then finds no stdin to read: one line, exit 2."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        done = _run_closed("connect", f"tcp:127.0.0.1:{server.getsockname()[1]}")
    assert done.returncode == 2, done.stderr
    assert "standard input is closed" in done.stderr
    assert "internal error" not in done.stderr


def test_read_input_bounds_and_errors(tmp_path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"x" * 10)
    assert read_input(str(small), 10, "batch") == b"x" * 10
    with pytest.raises(BadInput, match=r"^batch .*small: larger than 9 bytes$"):
        read_input(str(small), 9, "batch")
    with pytest.raises(NotFound, match=r"^diff .*absent: no such file$"):
        read_input(str(tmp_path / "absent"), 10, "diff")
    with pytest.raises(BadInput, match=r"cannot read: Is a directory"):
        read_input(str(tmp_path), 10, "batch")
