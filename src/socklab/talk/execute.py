"""Run a program per client, the connection as its stdin and stdout (``ncat --exec``,
socat's ``EXEC:``).

Rules:

1. No shell: ``argv`` is run as given; a program that is not on PATH is NotFound
   before any client is accepted.
2. A plain connection is handed to the program as is (its descriptor is the
   program's stdin and stdout); the server keeps no copy.
3. With TLS the program cannot have the socket itself (it would speak in clear):
   a thread per client does the handshake (:class:`socklab.talk.tls.Stream`, the
   shared TLS engine) and relays between the stream and a socketpair whose other
   end is the program's stdin and stdout.
4. Out of descriptors (EMFILE, ENFILE) when the program's socketpair or process is
   made, wait as accept does (the connections that are ending free theirs within
   moments), up to :data:`SPAWN_TRIES` times :data:`SPAWN_PAUSE`; then that client
   is closed with the reason, and the others go on.
5. Everything is said through ``log`` (one line each), never written elsewhere.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from socklab.errors import BadInput, from_oserror
from socklab.kernel import programs
from socklab.kernel import sock as ksock
from socklab.talk import pump
from socklab.talk.admission import Address, Admission, Log, accept_admitted
from socklab.trace import format_address

if TYPE_CHECKING:
    import ssl

__all__ = ["Child", "serve_exec", "spawn_on_pair"]

SPAWN_TRIES = 30
SPAWN_PAUSE = 0.1  # seconds: 3 s in all, then the client is told no (rule 4)
_FD_SHORTAGE = (errno.EMFILE, errno.ENFILE)


class Child(Protocol):
    """A started program (a ``subprocess.Popen``)."""

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...


def _silent(_message: str) -> None:
    pass


def check(argv: Sequence[str]) -> None:
    """BadInput for an empty command, NotFound for a program not on PATH (rule 1)."""
    if not argv:
        raise BadInput("exec: give a program")
    programs.check_program(list(argv))


def spawn_on_pair(argv: Sequence[str]) -> tuple[socket.socket, Child]:
    """Start ``argv`` on one end of a new UNIX socketpair; return the other end and the
    program. Raises NotFound, or the OSError of socketpair/fork (its caller names the
    operation, as :func:`serve_exec` and the relay do)."""
    mine, theirs = ksock.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        child = programs.spawn(list(argv), theirs.fileno())
    except BaseException:
        mine.close()
        raise
    finally:
        theirs.close()
    return mine, child


def serve_exec(listener: socket.socket, argv: Sequence[str], *,
               tls: ssl.SSLContext | None = None, keep_open: bool = False,
               max_clients: int | None = None, admission: Admission | None = None,
               log: Log = _silent, warn: Log | None = None) -> int:
    """Accept clients on ``listener`` and run ``argv`` for each (the rules above):
    one client, or with ``keep_open`` many, until ``max_clients`` were served.
    Waits for every program and relay to end; returns the number served. ``log``
    hears the clients come and go, ``warn`` (default ``log``) the shortages."""
    check(argv)
    admission = admission or Admission()
    children: list[Child] = []
    relays: list[threading.Thread] = []
    served = 0
    while True:
        sock, addr = accept_admitted(listener, admission, "the listening socket", log, warn)
        log(f"connection from {format_address(addr)}: running {argv[0]}")
        if tls is None:
            try:
                children.append(programs.spawn(list(argv), sock.fileno()))
            except OSError as exc:  # that client alone is turned away
                log(f"closed {format_address(addr)}: cannot run {argv[0]}: "
                    f"{exc.strerror or exc}")
            finally:
                sock.close()
        else:
            relay = threading.Thread(target=_exec_tls, args=(sock, addr, tls, argv, log),
                                     daemon=True)
            relay.start()
            relays.append(relay)
        served += 1
        children = [c for c in children if c.poll() is None]
        if not keep_open or (max_clients and served >= max_clients):
            break
    for child in children:
        child.wait()
    for relay in relays:
        relay.join()
    return served


def _exec_tls(sock: socket.socket, addr: Address, ctx: ssl.SSLContext, argv: Sequence[str],
              log: Log) -> None:
    """One client over TLS (rule 3): handshake, program, relay, in this thread."""
    import ssl

    from socklab.talk import tls

    name = format_address(addr)
    try:
        stream = tls.accept(sock, ctx)
    except (ssl.SSLError, OSError) as exc:  # recorded: that client alone goes
        log(f"TLS handshake with {name} failed: {exc}")
        return
    try:
        started = _spawn_waiting(argv, name, log)
        if started is None:
            return
        mine, child = started
        try:
            pump.bridge(pump.End(stream), pump.End(mine))
        except OSError as exc:  # recorded: that client alone goes
            log(f"closed {name}: {from_oserror(exc, 'relay')}")
        finally:
            mine.close()
            child.wait()
    finally:
        stream.close()


def _spawn_waiting(argv: Sequence[str], name: str, log: Log) -> tuple[socket.socket, Child] | None:
    """:func:`spawn_on_pair`, waiting out a shortage of descriptors (rule 4); None
    (said) when the program cannot start."""
    for attempt in range(SPAWN_TRIES):
        try:
            return spawn_on_pair(argv)
        except OSError as exc:
            if exc.errno not in _FD_SHORTAGE or attempt == SPAWN_TRIES - 1:
                log(f"closed {name}: cannot run {argv[0]}: {exc.strerror or exc}")
                return None
        time.sleep(SPAWN_PAUSE)
    return None
