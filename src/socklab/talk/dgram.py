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
from typing import BinaryIO

from socklab.errors import BadInput, from_oserror
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
    s = ksock.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind("")  # autobind: an abstract name, so that the peer can answer
        s.connect(address)
    except OSError as exc:
        s.close()
        raise from_oserror(exc, f"connect {ep}") from exc
    return s


def talk(sock: socket.socket, stdin_fd: int, out: BinaryIO,
         timeout: float | None = None) -> None:
    """Send each read of ``stdin_fd`` as one datagram (a thread), write each datagram
    received to ``out``, until the input ended and ``timeout`` seconds passed with
    nothing received (rule 3). Raises ConnectionRefused (rule 1), or the translated
    error of a failed send or receive."""
    done = threading.Event()
    failed: list[OSError] = []

    def send_input() -> None:
        try:
            while True:
                data = os.read(stdin_fd, MAX_DATAGRAM)
                if not data:
                    break
                sock.send(data)
        except OSError as exc:  # recorded: raised by the receiving loop below
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=send_input, daemon=True).start()
    sock.settimeout(POLL)
    quiet_since: float | None = None
    while True:
        if failed:
            raise from_oserror(failed[0], "send") from failed[0]
        try:
            data = sock.recv(65535)
        except TimeoutError:
            if done.is_set() and not failed:
                quiet_since = quiet_since or time.monotonic()
                if timeout is None or time.monotonic() - quiet_since >= timeout:
                    return
            continue
        except OSError as exc:
            raise from_oserror(exc, "receive") from exc
        quiet_since = None
        out.write(data)
        out.flush()
