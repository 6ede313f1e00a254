"""Run a program with a socket as its standard input and output (``exec:`` endpoints)."""

from __future__ import annotations

import shutil
import subprocess

from socklab.errors import NotFound

__all__ = ["check_program", "spawn"]


def check_program(argv: tuple[str, ...] | list[str]) -> None:
    """Raise NotFound unless ``argv[0]`` is a program on PATH (or a path to one)."""
    if shutil.which(argv[0]) is None:
        raise NotFound(f"exec: {argv[0]}: no such program")


def spawn(argv: tuple[str, ...] | list[str], fd: int) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) with ``fd`` as its stdin and stdout. Raises NotFound."""
    check_program(argv)
    return subprocess.Popen(list(argv), stdin=fd, stdout=fd, close_fds=True)
