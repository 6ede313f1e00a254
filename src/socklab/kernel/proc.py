"""Run a program with a socket as its standard input and output (``exec:`` endpoints)."""

from __future__ import annotations

import shutil
import subprocess

from socklab.errors import NotFound

__all__ = ["spawn"]


def spawn(argv: tuple[str, ...] | list[str], fd: int) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) with ``fd`` as its stdin and stdout. Raises NotFound."""
    if shutil.which(argv[0]) is None:
        raise NotFound(f"exec: {argv[0]}: no such program")
    return subprocess.Popen(list(argv), stdin=fd, stdout=fd, close_fds=True)
