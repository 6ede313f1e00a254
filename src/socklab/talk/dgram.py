"""A datagram client (``nc -u``, ``nc -uU``): each read of the input is one datagram,
every datagram from the peer is written to the output.

Rules:

1. The socket is pseudo-connected (course 2.1.2): the kernel delivers only the
   peer's datagrams, and an ICMP port unreachable for an earlier send comes back
   as ECONNREFUSED on a later call, raised as :class:`socklab.errors.ConnectionRefused`.
2. A UNIX datagram client binds first to an autobound abstract name (unix(7)):
   without a name of its own the server could not answer it.
3. After the end of the input, answers are awaited ``timeout`` seconds of
   silence (none: stop at once); the wait polls every :data:`POLL` seconds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from socklab.errors import BadInput, SocklabError, from_oserror
from socklab.kernel import sock as ksock
from socklab.talk import net
from socklab.talk.endpoint import Endpoint

__all__ = ["MAX_DATAGRAM", "connect_unix_dgram", "talk"]

MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4 (65535 - 8 - 20)
POLL = 0.2


def connect_unix_dgram(ep: Endpoint) -> socket.socket:
    """A UNIX datagram socket autobound to an abstract name (rule 2), connected to ``ep``."""
    if not (ep.is_local and ep.type == socket.SOCK_DGRAM):
        raise BadInput(f"connect {ep}: not a UNIX datagram endpoint")
    address = net.resolve(ep)[0][3]
    s = ksock.socket(socket.AF_UNIX, socket.SOCK_DGRAM, role="client")
    try:
        s.bind("")  # autobind: an abstract name, so that the peer can answer
        s.connect(address)
    except OSError as exc:
        s.close()
        raise from_oserror(exc, f"connect {ep}") from exc
    return s


def _reads(fd: int) -> Iterator[bytes]:
    while data := os.read(fd, MAX_DATAGRAM):
        yield data


def talk(sock: socket.socket, stdin_fd: int, out: BinaryIO,
         timeout: float | None = None, *, inputs: Iterator[bytes] | None = None,
         receive: Callable[[], bytes | None] | None = None) -> None:
    """Send each read of ``stdin_fd`` as one datagram (a thread), write each datagram
    received to ``out``, until the input ended and ``timeout`` seconds passed with
    nothing received (rule 3). Raises ConnectionRefused (rule 1), or the translated
    error of a failed send or receive. ``inputs`` replaces the reads of ``stdin_fd``
    (the datagrams to send; it may raise a SocklabError), ``receive`` the recv of one
    datagram (None: nothing to write); the raw endpoints give both
    (:mod:`socklab.talk.raw`)."""
    done = threading.Event()
    failed: list[OSError | SocklabError] = []

    def send_input() -> None:
        try:
            for data in (inputs if inputs is not None else _reads(stdin_fd)):
                sock.send(data)
        except (OSError, SocklabError) as exc:  # recorded: raised by the loop below
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=send_input, daemon=True).start()
    sock.settimeout(POLL)
    quiet_since: float | None = None
    while True:
        if failed:
            if isinstance(failed[0], SocklabError):
                raise failed[0]
            raise from_oserror(failed[0], "send") from failed[0]
        try:
            data = receive() if receive is not None else sock.recv(65535)
        except TimeoutError:
            if done.is_set() and not failed:
                quiet_since = quiet_since or time.monotonic()
                if timeout is None or time.monotonic() - quiet_since >= timeout:
                    return
            continue
        except OSError as exc:
            raise from_oserror(exc, "receive") from exc
        if data is None:  # not for the output (a frame going out): not an answer either
            continue
        quiet_since = None
        out.write(data)
        out.flush()
