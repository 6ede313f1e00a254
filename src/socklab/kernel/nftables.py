"""nftables commands, run by libnftables or by the ``nft`` program.

This is how nftables' own Python binding talks to the kernel: ``ctypes`` on
``libnftables.so.1`` (``nft_ctx_new``, ``nft_ctx_output_set_flags``,
``nft_ctx_buffer_output``, ``nft_run_cmd_from_buffer``,
``nft_ctx_get_output_buffer``), with the ``nft`` program as the fallback where
the library is missing (docs/design.md "Filtering" has the measured cost of
each). Both take the same command text (nft(8)'s grammar) and give the same
output text, JSON when ``json=True``.

Rules:

1. A command runs in the calling thread's network namespace: the library's
   netlink socket and the program (forked from this thread) are both made
   there (enter a namespace with :func:`socklab.kernel.netns.entered` first).
2. A refusal is translated here: EPERM ("Operation not permitted") is
   :class:`~socklab.errors.MissingPrivilege` naming CAP_NET_ADMIN, anything
   else a :class:`~socklab.errors.NetworkError` carrying nft's own first error
   line. Command text is built by the caller from checked values only.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from typing import Protocol

from socklab.errors import MissingPrivilege, NetworkError, NotFound
from socklab.kernel import caps

__all__ = ["Backend", "backend", "legacy_iptables_tables", "run"]

# <nftables/libnftables.h>: enum nft_output_flags
OUTPUT_HANDLE = 1 << 3
OUTPUT_JSON = 1 << 4
OUTPUT_ECHO = 1 << 5
OUTPUT_NUMERIC_PRIO = 1 << 8

LIBRARY = "libnftables.so.1"
PROGRAM = "nft"
# the most a command's output may hold (a ruleset is read whole, as nft does)
MAX_OUTPUT = 64 << 20
PROGRAM_TIMEOUT = 30.0


class Backend(Protocol):
    name: str

    def run(self, command: str, json: bool, echo: bool = False) -> str: ...


def _refused(command: str, message: str) -> Exception:
    """nft's error text, as socklab's error: the first line that says what went wrong."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    first = next((ln for ln in lines if ln.startswith("Error:")), lines[0] if lines else "")
    first = first.removeprefix("Error: ")
    op = f"nft {command.split(';')[0][:80]}"
    if "Operation not permitted" in message or "Permission denied" in message:
        return MissingPrivilege(op, "CAP_NET_ADMIN", "run as root or with CAP_NET_ADMIN")
    if "No such file or directory" in message:
        return NotFound(f"{op}: {first or 'no such object'}")
    return NetworkError(op, None, first or "failed")


class Library:
    """libnftables through ctypes; one context per command (a context holds a
    netlink socket made in the namespace of the thread that made it)."""

    name = "libnftables"

    def __init__(self) -> None:
        import ctypes

        self._ctypes = ctypes
        lib = ctypes.CDLL(LIBRARY, use_errno=True)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        self._lib = lib

    def run(self, command: str, json: bool, echo: bool = False) -> str:
        lib = self._lib
        ctx = lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT
        if not ctx:
            raise NetworkError("nft_ctx_new", self._ctypes.get_errno() or errno.ENOMEM)
        try:
            lib.nft_ctx_output_set_flags(
                ctx, OUTPUT_HANDLE | OUTPUT_NUMERIC_PRIO * json | OUTPUT_JSON * json
                | OUTPUT_ECHO * echo)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            rc = lib.nft_run_cmd_from_buffer(ctx, command.encode())
            out = lib.nft_ctx_get_output_buffer(ctx) or b""
            err = lib.nft_ctx_get_error_buffer(ctx) or b""
            if rc != 0:
                raise _refused(command, err.decode(errors="replace"))
            if len(out) > MAX_OUTPUT:
                raise NetworkError(f"nft {command}", None, f"output over {MAX_OUTPUT} bytes")
            return str(out.decode(errors="replace"))
        finally:
            lib.nft_ctx_free(ctx)


class Program:
    """The ``nft`` program: ``nft -a [-j -y] -- COMMAND`` (nft joins its arguments into
    one command; with ``-j`` a file given by ``-f`` would be read as JSON)."""

    name = "nft"

    def __init__(self, path: str) -> None:
        self.path = path

    def run(self, command: str, json: bool, echo: bool = False) -> str:
        argv = [self.path, "-a", *(["-j", "-y"] if json else []), *(["-e"] if echo else []),
                "--", command]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=PROGRAM_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise NetworkError(f"nft {command}", errno.ETIMEDOUT) from exc
        except OSError as exc:
            raise NetworkError(f"run {self.path}", exc.errno) from exc
        if done.returncode != 0:
            raise _refused(command, done.stderr.decode(errors="replace"))
        if len(done.stdout) > MAX_OUTPUT:
            raise NetworkError(f"nft {command}", None, f"output over {MAX_OUTPUT} bytes")
        return done.stdout.decode(errors="replace")


_chosen: dict[str, Backend] = {}


def backend(prefer: str = "auto") -> Backend:
    """The library when it loads (``prefer="auto"`` or ``"library"``), else the program.

    NotFound when neither is there (or the one asked for is missing)."""
    if prefer in _chosen:
        return _chosen[prefer]
    found: Backend | None = None
    if prefer in ("auto", "library"):
        try:
            found = Library()
        except (OSError, AttributeError):  # not installed, or too old for these calls
            found = None
    if found is None and prefer in ("auto", "program"):
        path = shutil.which(PROGRAM) or next(
            (p for p in ("/usr/sbin/nft", "/sbin/nft") if os.access(p, os.X_OK)), None)
        if path is not None:
            found = Program(path)
    if found is None:
        raise NotFound(f"nftables: neither {LIBRARY} nor the {PROGRAM} program is installed "
                       "(install the nftables package)")
    _chosen[prefer] = found
    return found


def run(command: str, json: bool = False, prefer: str = "auto", echo: bool = False) -> str:
    """Run one nft command (``list ruleset``, ``add rule ...``) and return its output;
    ``echo``: the objects added, with their handles (``nft -e -a``).

    Without CAP_NET_ADMIN, MissingPrivilege before anything is sent: nfnetlink
    refuses every nftables message, listing included, and the library would
    print its own complaint on stderr."""
    if not caps.has("CAP_NET_ADMIN"):
        raise MissingPrivilege(f"nft {command.split(';')[0][:80]}", "CAP_NET_ADMIN",
                               "run as root or with CAP_NET_ADMIN")
    return backend(prefer).run(command, json, echo)


def legacy_iptables_tables(proc_root: str = "/proc") -> list[str]:
    """The legacy (x_tables) tables in use in this thread's namespace, from
    ``/proc/net/ip_tables_names`` and ``ip6_tables_names``: names such as
    ``filter`` and ``ip6:nat``. Rules in them are not nftables' and are not read."""
    found: list[str] = []
    for fname, prefix in (("ip_tables_names", ""), ("ip6_tables_names", "ip6:")):
        try:
            with open(f"{proc_root}/thread-self/net/{fname}") as f:
                text = f.read(4096)
        except OSError:  # module not loaded: no legacy table at all
            continue
        found += [prefix + name for name in text.split() if name.isprintable()][:32]
    return found
