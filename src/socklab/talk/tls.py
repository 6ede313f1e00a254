"""TLS over a TCP endpoint (``tls:tcp:HOST:PORT``), with the standard library's ssl.

A client verifies the server against the system CAs, or ``cafile``, and the
host name; a failure says why in one line. A server takes a certificate and
key. The TCP part goes through :func:`socklab.talk.net.connect`, so ``--trace``
shows it; the TLS records themselves are ssl's.
"""

from __future__ import annotations

import socket
import ssl

from socklab.errors import BadInput, NetworkError
from socklab.talk.endpoint import Endpoint

__all__ = ["client_context", "connect", "server_context"]


def client_context(cafile: str | None = None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"--cafile {cafile}: cannot load CA certificates ({exc})") from exc


def server_context(cert: str, key: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"--cert {cert}: cannot load the certificate and key ({exc})") from exc
    return ctx


def connect(ep: Endpoint, *, source: str | None = None, timeout: float | None = None,
            cafile: str | None = None) -> socket.socket:
    from socklab.talk import net

    ctx = client_context(cafile)
    raw = net.connect(ep._replace(tls=False), source=source, timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=ep.host or None)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        raise NetworkError(f"connect {ep}", None,
                           f"TLS verification failed: {exc.verify_message}") from exc
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        raise NetworkError(f"connect {ep}", getattr(exc, "errno", None),
                           f"TLS handshake failed: {exc}") from exc
