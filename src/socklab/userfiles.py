"""Files a user names on the command line, and the package's own data files.

The kernel edge (:mod:`socklab.kernel.files`) does the system calls; this is what
the CLI may call: a file written whole or not at all (a temporary file renamed into
place, 0666 less the umask, as any program's output file), and a file read with a
bound on its size. Errors are socklab's: BadInput naming the path and the reason.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from socklab.errors import BadInput, NotFound
from socklab.kernel import files

__all__ = ["read_bounded", "read_input", "stdin_buffer", "write_whole"]


STDOUT = "-"
"""The name that means standard output (``--html -``, ``--svg -``), as tcpdump's
``-w -``: the command then writes nothing else there."""


def write_whole(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (standard output for ``-``); never a partial file
    under that name. Raises BadInput."""
    if path == STDOUT:
        if sys.stdout is None:
            raise BadInput("standard output is closed (give a file name instead of -)")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        fd, tmp = files.open_temp(path)
    except OSError as exc:
        raise BadInput(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        files.write_all(fd, data)
        files.usual_mode(fd)
    except OSError as exc:
        files.discard(fd, tmp)
        raise BadInput(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        files.commit(fd, tmp, path)  # closes fd, even when it raises
    except OSError as exc:
        files.discard(-1, tmp)
        raise BadInput(f"cannot write {path!r}: {exc.strerror}") from None


def read_bounded(path: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (the caller refuses a longer file);
    OSError as the OS says."""
    return files.read_bounded(path, limit)


def stdin_buffer(what: str = "") -> BinaryIO:
    """Standard input as bytes; BadInput when it is closed (``<&-``: Python then sets
    ``sys.stdin`` to None, and a socket opened later could take fd 0)."""
    if sys.stdin is None:
        raise BadInput(f"{what + ': ' if what else ''}standard input is closed (give it a "
                       "file, or < /dev/null)")
    return sys.stdin.buffer


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"


def read_input(path: str, limit: int, what: str) -> bytes:
    """The bytes of the file ``path`` a user names, or of standard input for ``-``:
    NotFound for a missing file, BadInput ``WHAT PATH: reason`` for one that cannot be
    read (standard input closed included) or holds more than ``limit`` bytes (never
    more than ``limit + 1`` bytes are read)."""
    try:
        if path == "-":
            data = stdin_buffer(f"{what} -").read(limit + 1)
        else:
            data = read_bounded(path, limit)
    except FileNotFoundError:
        raise NotFound(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BadInput(f"{what} {path}: larger than {_size(limit)}")
    return data
