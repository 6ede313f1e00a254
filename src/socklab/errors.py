"""The one exception tree of socklab.

Every error socklab raises on purpose is a :class:`SocklabError`; the CLI
turns it into one line on stderr and the exit code the class carries::

    SocklabError                      exit 1
    ├── BadInput                      exit 2   bad argument, option or value
    │   └── BadAddress                exit 2   a malformed endpoint or address,
    │                                          with the position and what was expected
    ├── NotFound                      exit 2   no such interface, key, host, namespace
    ├── MissingPrivilege              exit 77  names the operation, the Linux
    │                                          capability and a way out
    ├── Malformed                     exit 1   a kernel reply, /proc line or packet
    │                                          socklab cannot read: names what and where
    └── NetworkError                  exit 1   the kernel or the peer said no;
        │                                      keeps the errno (also OSError's)
        ├── ConnectionRefused         exit 1   also ConnectionRefusedError
        ├── ConnectionReset           exit 1   also ConnectionResetError
        ├── ConnectionAborted         exit 1   also ConnectionAbortedError
        ├── BrokenPipe                exit 1   also BrokenPipeError
        └── Timeout                   exit 1   nothing came back in time (TimeoutError)

Rules:

1. OS errors are translated once, at the kernel edge, with ``raise ... from exc``
   (see :func:`from_oserror`); code above the edge never catches ``OSError``.
2. A message names the operation and the object it was applied to:
   ``connect tcp:127.0.0.1:1: Connection refused``.
3. Decoders and parsers (netlink replies, /proc texts, packets, endpoints) raise
   only errors of this tree: :class:`Malformed` for what the kernel or a peer
   sent, :class:`BadAddress` for what the user typed. A listing made of many
   records leaves out the one it cannot read where the rest still makes sense,
   and says so (see the decoder's docstring).
4. When several attempts fail (every address of a name), all of them are kept
   in :attr:`NetworkError.attempts` and shown.
"""

from __future__ import annotations

import errno as _errno
import os
import sys

__all__ = [
    "BadAddress",
    "BadInput",
    "BrokenPipe",
    "ConnectionAborted",
    "ConnectionRefused",
    "ConnectionReset",
    "Malformed",
    "MissingPrivilege",
    "NetworkError",
    "NotFound",
    "SocklabError",
    "Timeout",
    "from_oserror",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOPERM = os.EX_NOPERM  # 77
EXIT_INTERRUPTED = 130


class SocklabError(Exception):
    """Root of every error socklab raises on purpose."""

    exit_code: int = EXIT_FAILURE


class BadInput(SocklabError, ValueError):
    """An argument, option or value that cannot be used as given."""

    exit_code = EXIT_USAGE


class BadAddress(BadInput):
    """A malformed endpoint or address.

    ``position`` is the 0-based offset in ``text`` where parsing failed and
    ``expected`` says what would have been accepted there (Go's ParseError).
    """

    def __init__(self, text: str, position: int, expected: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        super().__init__(f"bad address {text!r} at position {position}: expected {expected}")


class NotFound(SocklabError, LookupError):
    """A named thing that does not exist: interface, sysctl key, host, namespace."""

    exit_code = EXIT_USAGE


class Malformed(SocklabError, ValueError):
    """A kernel reply, /proc line or packet socklab cannot read.

    The message names what was malformed and where (``sock_diag reply at offset
    96: message length 12 is shorter than its header``). Exit 1: the input came
    from the kernel or a peer, not from the user. A ``ValueError`` too, as the
    parsers' errors were before it existed.
    """


class MissingPrivilege(SocklabError, PermissionError):
    """An operation the process may not do, with the capability it lacks and a way out."""

    exit_code = EXIT_NOPERM

    def __init__(self, operation: str, capability: str, hint: str = "") -> None:
        self.operation = operation
        self.capability = capability
        self.hint = hint
        msg = f"{operation}: Operation not permitted (needs {capability})"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class NetworkError(SocklabError, OSError):
    """The kernel or the peer refused: keeps the errno and every failed attempt.

    ``errno`` and ``strerror`` are set as on any ``OSError``, and an errno that Python
    maps to a builtin subclass gives the matching class here too: ``NetworkError(op,
    ECONNREFUSED)`` is a :class:`ConnectionRefused`, so ``except ConnectionRefusedError``
    around a socklab call catches what it catches around a plain socket call.
    """

    def __new__(cls, operation: str, errno: int | None = None, *args: object,
                **kwargs: object) -> NetworkError:
        if cls is NetworkError and errno is not None:
            cls = _BY_ERRNO.get(errno, NetworkError)
        return super().__new__(cls)

    def __init__(
        self,
        operation: str,
        errno: int | None = None,
        detail: str = "",
        attempts: tuple[NetworkError, ...] = (),
    ) -> None:
        self.operation = operation
        self.errno_value = errno
        self.attempts = attempts
        if not detail:
            detail = os.strerror(errno) if errno is not None else "failed"
        self.detail = detail
        msg = f"{operation}: {detail}"
        if attempts:
            msg += " (" + "; ".join(str(a) for a in attempts) + ")"
        # OSError's own constructor would reinterpret the arguments; keep ours.
        Exception.__init__(self, msg)
        self.errno = errno  # as OSError: None when there is no errno
        self.strerror = detail

    @property
    def errno_name(self) -> str | None:
        """The symbolic errno (``ECONNREFUSED``), or None."""
        if self.errno_value is None:
            return None
        return _errno.errorcode.get(self.errno_value)

    def __str__(self) -> str:
        return str(self.args[0])


class ConnectionRefused(NetworkError, ConnectionRefusedError):
    """Nobody listens there (ECONNREFUSED): a TCP RST, or ICMP port unreachable."""


class ConnectionReset(NetworkError, ConnectionResetError):
    """The peer reset the connection (ECONNRESET)."""


class ConnectionAborted(NetworkError, ConnectionAbortedError):
    """The connection was aborted on this side (ECONNABORTED)."""


class BrokenPipe(NetworkError, BrokenPipeError):
    """Writing to a connection the peer has closed (EPIPE, ESHUTDOWN)."""


_BY_ERRNO: dict[int, type[NetworkError]] = {
    _errno.ECONNREFUSED: ConnectionRefused,
    _errno.ECONNRESET: ConnectionReset,
    _errno.ECONNABORTED: ConnectionAborted,
    _errno.EPIPE: BrokenPipe,
    _errno.ESHUTDOWN: BrokenPipe,
}


class Timeout(NetworkError, TimeoutError):
    """Nothing came back before the deadline."""

    def __init__(self, operation: str, seconds: float | None = None) -> None:
        self.seconds = seconds
        detail = "timed out" if seconds is None else f"timed out after {seconds:g} s"
        super().__init__(operation, _errno.ETIMEDOUT, detail)


# Which capability an EPERM/EACCES stands for, by kind of operation.
_CAPABILITY_HINTS = {
    "CAP_NET_RAW": "run as root or grant it: setcap cap_net_raw+ep $(command -v python3)",
    "CAP_NET_ADMIN": "run as root or with CAP_NET_ADMIN",
    "CAP_NET_BIND_SERVICE": (
        "use a port at or above net.ipv4.ip_unprivileged_port_start, or run as root"
    ),
    "CAP_SYS_ADMIN": "run as root to enter another network namespace",
}


def from_oserror(
    exc: OSError, operation: str, capability: str | None = None
) -> SocklabError:
    """Translate an ``OSError`` raised at the kernel edge into the tree above.

    ``capability`` names what an EPERM/EACCES means for this operation.
    """
    ssl = sys.modules.get("ssl")  # loaded only by a program that uses TLS
    if ssl is not None and isinstance(exc, ssl.SSLError):
        # its errno is an SSL_ERROR_* code (1 is SSL_ERROR_SSL), not an OS errno
        return NetworkError(operation, None, f"TLS error: {getattr(exc, 'reason', None) or exc}")
    code = exc.errno
    if code in (_errno.EPERM, _errno.EACCES) and capability:
        return MissingPrivilege(operation, capability, _CAPABILITY_HINTS.get(capability, ""))
    if code == _errno.ENOENT:
        return NotFound(f"{operation}: {os.strerror(code)}")
    if isinstance(exc, TimeoutError) and code is None:
        return Timeout(operation)
    # the errno's own text: some callers (asyncio) put their own words in strerror
    return NetworkError(operation, code, os.strerror(code) if code else str(exc))
