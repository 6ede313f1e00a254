"""Files a user names on the command line, and the package's own data files.

The kernel edge (:mod:`socklab.kernel.files`) does the system calls; this is what
the CLI may call: a file written whole or not at all (a temporary file renamed into
place, 0666 less the umask, as any program's output file), and a file read with a
bound on its size. Errors are socklab's: BadInput naming the path and the reason.
"""

from __future__ import annotations

from socklab.errors import BadInput
from socklab.kernel import files

__all__ = ["read_bounded", "write_whole"]


def write_whole(path: str, data: bytes) -> None:
    """Write ``data`` to ``path``; never a partial file under that name. Raises BadInput."""
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
