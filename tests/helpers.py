"""Helpers shared by the tests (importable: tests/ is on sys.path under pytest)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import ClassVar

import pytest

SOCKLAB = [sys.executable, "-m", "socklab"]


def ci_as_root() -> bool:
    return bool(os.environ.get("CI")) and os.geteuid() == 0


def need_root(why: str = "needs root (network namespaces, raw sockets)") -> None:
    """Skip the calling test unless root (a failure under CI as root, via the hook)."""
    if os.geteuid() != 0:
        pytest.skip(why)


def need_tool(*names: str) -> None:
    """Skip unless every command in ``names`` is on PATH (or in /usr/sbin, /sbin)."""
    for name in names:
        if not (shutil.which(name) or os.access(f"/usr/sbin/{name}", os.X_OK)):
            pytest.skip(f"needs the '{name}' command (make sysdeps installs it)")


def run_cli(*args: str, input: bytes | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run socklab as a separate process (to see real exit codes and stderr)."""
    return subprocess.run([*SOCKLAB, *args], input=input, capture_output=True,
                          timeout=timeout, env=env)


def recv_exactly(sock, size: int, label: object = None) -> bytes:
    """Read ``size`` bytes from a stream socket (fails at an early end of stream)."""
    got = b""
    while len(got) < size:
        chunk = sock.recv(min(65536, size - len(got)))
        assert chunk, f"end of stream after {len(got)} of {size} bytes ({label})"
        got += chunk
    return got


class Listener:
    """`socklab listen ...` running in the background; `.port` read from its stderr.

    Every instance is in ``Listener.running`` until finished or killed, so that a
    fixture (conftest.py) can stop what a failing test left behind."""

    running: ClassVar[list[Listener]] = []

    def __init__(self, *args: str, stdin: bytes | None = None) -> None:
        import re
        import time

        Listener.running.append(self)
        self.proc = subprocess.Popen([*SOCKLAB, "listen", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        assert "listening on" in line, line
        m = re.search(r":(\d+)\s*$", line)
        self.port = int(m.group(1)) if m else 0
        assert self.proc.stdin is not None
        if stdin is not None:
            self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        self.started = time.monotonic()

    def finish(self, timeout: float = 30) -> tuple[int, bytes, bytes]:
        self.proc.stdin = None  # already written and closed
        out, err = self.proc.communicate(timeout=timeout)
        self._done()
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.stdin = None
        self.proc.communicate()
        self._done()

    def _done(self) -> None:
        if self in Listener.running:
            Listener.running.remove(self)


def veth_link(a, a_dev: str, b, b_dev: str, a_addr: str, b_addr: str) -> None:
    """A veth pair between namespaces ``a`` and ``b``, addressed and up."""
    a.ip("link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b.name)
    a.ip("addr", "add", a_addr, "dev", a_dev)
    b.ip("addr", "add", b_addr, "dev", b_dev)
    a.ip("link", "set", a_dev, "up")
    b.ip("link", "set", b_dev, "up")
