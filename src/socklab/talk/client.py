"""``socklab.connect()``: a client socket for any endpoint, TLS or not.

The choice of TLS is made here, one level above both :mod:`socklab.talk.net`
(plain sockets) and :mod:`socklab.talk.tls` (which uses net), so that the two
never import each other.
"""

from __future__ import annotations

import socket

from socklab.talk import net
from socklab.talk.endpoint import Endpoint

__all__ = ["connect"]


def connect(spec: str | Endpoint, *, source: str | None = None,
            timeout: float | None = None, cafile: str | None = None) -> socket.socket:
    """A connected socket (``socket`` + ``connect``); for UDP, a pseudo-connected one;
    for ``tls:`` a :class:`socklab.talk.tls.Stream`, the server verified against the
    system CAs or ``cafile``.

    ``source`` (``ADDR:PORT`` or ``[v6]:PORT``) binds first. Raises BadInput,
    NotFound, Timeout, NetworkError (ConnectionRefused ... with ``errno`` set; every
    attempt when all addresses failed).
    """
    ep = net.endpoint(spec)
    if not ep.tls:
        return net.connect(ep, source=source, timeout=timeout)
    from socklab.talk import tls  # ssl loads only for a TLS endpoint

    net.check_timeout(ep, timeout)
    return tls.connect(ep, source=source, timeout=timeout, cafile=cafile)
