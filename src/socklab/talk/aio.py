"""asyncio flavours of connect and listen: the same sockets, asyncio streams on top.

The socket is made and connected (or bound and listening) through
:mod:`socklab.talk.net`, so the endpoint grammar, the errors and ``--trace``
are the same as for the blocking calls; asyncio only drives the I/O.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from socklab.errors import BadInput, NetworkError, Timeout, from_oserror
from socklab.talk import net
from socklab.talk.endpoint import Endpoint, parse

__all__ = ["connect", "serve"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def connect(spec: str | Endpoint, *, timeout: float | None = None
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to a stream endpoint without blocking the event loop; tries every address
    of a name in turn. Raises NotFound, Timeout, NetworkError."""
    ep = parse(spec) if isinstance(spec, str) else spec
    if not ep.is_stream or not (ep.is_inet or ep.is_local) or ep.tls:
        raise BadInput(f"connect {ep}: asyncio streams need a plain stream endpoint")
    loop = asyncio.get_running_loop()
    addresses = await loop.run_in_executor(None, net.resolve, ep)  # getaddrinfo blocks
    attempts: list[NetworkError] = []
    from socklab.kernel import sock as ksock

    for family, kind, proto, addr in addresses:
        s = ksock.socket(family, kind, proto, role="client")
        s.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(s, addr), timeout)
        except TimeoutError:
            s.close()
            attempts.append(Timeout(f"connect {ep}", timeout))
            continue
        except OSError as exc:
            s.close()
            err = from_oserror(exc, f"connect {ep}")
            if not isinstance(err, NetworkError):
                raise err from exc
            attempts.append(err)
            continue
        return await asyncio.open_connection(sock=s)
    if len(attempts) == 1:
        raise attempts[0]
    raise NetworkError(f"connect {ep}", None, "every address failed", attempts=tuple(attempts))


async def serve(spec: str | Endpoint, handler: Handler, *, backlog: int = 128
                ) -> asyncio.Server:
    """Listen on a stream endpoint and run ``handler(reader, writer)`` for each client.
    The returned server's sockets tell the real address (port 0 asked)."""
    listener: socket.socket = net.listen(spec, backlog=backlog)
    listener.setblocking(False)
    return await asyncio.start_server(handler, sock=listener)
