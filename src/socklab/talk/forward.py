"""Relay two endpoints both ways (socat): two clients, or a server that connects a
second endpoint for each client it accepts, one process per client with ``fork``.

Rules:

1. A side is opened as a client: a socket endpoint (``tls:`` included), ``stdio``,
   or ``exec:PROGRAM`` (the program on a socketpair; only with ``allow_exec``).
2. The bytes move with :func:`socklab.talk.pump.bridge`: a half-close is passed on.
3. With ``fork`` every client is served by a child process (socat's ``fork``
   option); the child leaves with ``os._exit`` whatever happens, so it never runs
   the parent's cleanup (the parent's UNIX socket file stays), and its exit status
   says how it ended: 0, the SocklabError's exit code, 130 for an interrupt, 128 +
   the signal for a signal that raised an exception carrying ``signum``.
4. A client whose second side cannot be opened is closed, the reason said through
   ``log``; the server goes on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from socklab.errors import BadInput, SocklabError, from_oserror
from socklab.talk import client, pump
from socklab.talk.endpoint import Endpoint

if TYPE_CHECKING:  # admission (ipaddress) and execute (subprocess) load only when used
    from socklab.talk.admission import Log
    from socklab.talk.execute import Child

__all__ = ["open_side", "relay", "serve_relay"]


def _silent(_message: str) -> None:
    pass


@contextmanager
def open_side(ep: Endpoint, *, stdio: Callable[[], pump.End] | None = None,
              allow_exec: bool = False, cafile: str | None = None) -> Iterator[pump.End]:
    """One side opened as a client (rule 1), closed (and its program waited for) on exit.
    ``stdio`` makes the End of a ``stdio`` side (the caller's standard input/output)."""
    if ep.scheme == "stdio":
        if stdio is None:
            raise BadInput(f"relay {ep}: no standard input/output here")
        yield stdio()
        return
    child: Child | None = None
    if ep.scheme == "exec":
        if not allow_exec:
            raise BadInput(f"relay {ep}: exec: runs a program: add --allow-exec")
        from socklab.talk.execute import spawn_on_pair  # subprocess: only for exec:

        try:
            sock, child = spawn_on_pair(ep.argv)
        except OSError as exc:
            raise from_oserror(exc, f"relay {ep}: start {ep.argv[0]}") from exc
    else:
        sock = client.connect(ep, cafile=cafile)
    try:
        yield pump.End(sock)
    finally:
        sock.close()
        if child is not None:
            child.wait()


def relay(a: Endpoint, b: Endpoint, *, stdio: Callable[[], pump.End] | None = None,
          allow_exec: bool = False, cafile: str | None = None) -> None:
    """Open both sides as clients and relay them until both directions ended."""
    with open_side(a, stdio=stdio, allow_exec=allow_exec, cafile=cafile) as end_a, \
            open_side(b, stdio=stdio, allow_exec=allow_exec, cafile=cafile) as end_b:
        try:
            pump.bridge(end_a, end_b)
        except OSError as exc:
            raise from_oserror(exc, f"relay {a} {b}") from exc


def serve_relay(listener: socket.socket, b: Endpoint, *, fork: bool = False,
                max_clients: int | None = None, allow_exec: bool = False,
                cafile: str | None = None, log: Log = _silent,
                what: str = "the listening socket") -> int:
    """Accept on ``listener`` (named ``what`` in errors) and relay each client with a
    fresh connection to ``b``: one client in this process, or with ``fork`` many, one
    child each (rule 3), until ``max_clients``. Returns the exit status (0, or the
    one client's)."""
    from socklab.talk.admission import accept

    served = 0
    try:
        while True:
            conn, _addr = accept(listener, what, log)
            served += 1
            if not fork:
                return _serve_one(conn, b, allow_exec, cafile, log)
            if os.fork() == 0:  # the child serves this client, then exits
                _child(listener, conn, b, allow_exec, cafile, log)
            conn.close()
            _reap(block=False)
            if max_clients and served >= max_clients:
                return 0
    finally:
        if fork:
            _reap(block=True)


def _child(listener: socket.socket, conn: socket.socket, b: Endpoint, allow_exec: bool,
           cafile: str | None, log: Log) -> None:
    code = 1
    try:
        listener.close()
        code = _serve_one(conn, b, allow_exec, cafile, log)
    except KeyboardInterrupt:
        code = 130
    except BaseException as exc:  # SIGTERM/SIGHUP (main.Terminated): 128 + the signal
        signum = getattr(exc, "signum", None)
        code = 128 + signum if isinstance(signum, int) else 1
    finally:
        os._exit(code)


def _serve_one(conn: socket.socket, b: Endpoint, allow_exec: bool, cafile: str | None,
               log: Log) -> int:
    """Relay one accepted client to ``b`` (rule 4); the exit status."""
    try:
        with open_side(b, allow_exec=allow_exec, cafile=cafile) as end_b:
            pump.bridge(pump.End(conn), end_b)
    except SocklabError as exc:
        log(f"error: {exc}")
        return exc.exit_code
    except OSError as exc:  # recorded: this client's relay ended with it
        log(f"error: {from_oserror(exc, 'relay')}")
        return 1
    finally:
        conn.close()
    return 0


def _reap(block: bool) -> None:
    """Collect ended children (all of them, waiting, when ``block``)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
