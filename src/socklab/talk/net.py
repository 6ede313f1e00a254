"""Open sockets for endpoints: ``socklab.connect()``, ``socklab.listen()``, ``socketpair()``.

Every socket comes from the traced factory, so ``--trace`` shows the course's
sequences (socket, bind, listen / socket, connect). Rules:

1. Names resolve with getaddrinfo; a client tries every address in turn
   (IPv6 and IPv4) and, when all fail, reports each failure.
2. ``tcp::PORT`` (empty host) listens on every address: one IPv6 socket with
   IPV6_V6ONLY off (IPv4 clients arrive as ::ffff:a.b.c.d), or IPv4 when the
   machine has no IPv6.
3. A UNIX listener on a path removes an existing socket file only when nothing
   listens there (connect is refused), never another kind of file; it is
   removed again when the listener's owner calls :func:`remove_path`.
4. Plain sockets only: TLS is chosen one level up (:mod:`socklab.talk.client`),
   so that :mod:`socklab.talk.tls` may use this module without a cycle.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any

from socklab.errors import BadInput, NetworkError, NotFound, Timeout, from_oserror
from socklab.kernel import sock as ksock
from socklab.kernel.sockaddr import local_bytes as sockaddr_bytes  # the tour's 2.2.2
from socklab.names import check_host
from socklab.talk.endpoint import Endpoint, parse

__all__ = ["connect", "listen", "resolve", "sockaddr_bytes", "socketpair"]

Address = tuple[int, int, int, Any]  # family, type, proto, sockaddr (a tuple or a path)


def endpoint(spec: str | Endpoint) -> Endpoint:
    """``spec`` parsed when it is a string."""
    return parse(spec) if isinstance(spec, str) else spec


def check_timeout(ep: Endpoint, timeout: float | None) -> None:
    """A connect timeout is a positive, finite number of seconds (or None)."""
    if timeout is not None and not 0 < timeout < float("inf"):  # nan fails the test too
        raise BadInput(f"connect {ep}: a timeout of {timeout} s: expected a positive number")


def resolve(ep: Endpoint, passive: bool = False) -> list[Address]:
    """The socket addresses of an endpoint (getaddrinfo for IP; the path for UNIX)."""
    if ep.is_local:
        return [(socket.AF_UNIX, ep.type, 0, _local_address(ep))]
    if not ep.is_inet:
        raise BadInput(f"{ep}: not a socket endpoint")
    host: str | None = ep.host or None
    if host is not None:
        check_host(host, "endpoint")  # a name the DNS cannot carry: BadInput, not UnicodeError
    family = ep.family
    if host is None and passive and family == socket.AF_UNSPEC:
        family = socket.AF_INET6 if socket.has_ipv6 and _ipv6_works() else socket.AF_INET
    flags = socket.AI_PASSIVE if passive else 0
    try:
        infos = socket.getaddrinfo(host, ep.port, family, ep.type, 0, flags)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_SERVICE:
            raise NotFound(f"{ep}: unknown service {ep.port!r}") from exc
        raise NotFound(f"{ep}: cannot resolve {ep.host!r} ({exc.strerror})") from exc
    seen = set()
    out: list[Address] = []
    for fam, typ, proto, _canon, addr in infos:
        if (fam, addr) not in seen:
            seen.add((fam, addr))
            out.append((fam, typ, proto, addr))
    return out


def _local_address(ep: Endpoint) -> str | bytes:
    """The AF_UNIX address; a path's bytes may be any but NUL (a name that is not
    UTF-8 comes in surrogate-escaped, as the OS gave it, and goes out the same)."""
    raw = os.fsencode(ep.path)
    if b"\0" in raw:
        raise BadInput(f"{ep}: a UNIX socket name holds no NUL byte")
    if len(raw) > 107:  # sun_path is 108 bytes: a path needs its NUL, a name its leading NUL
        raise BadInput(f"{ep}: at most 107 bytes in a UNIX socket name ({len(raw)} given)")
    if ep.scheme.startswith("abstract"):
        return b"\0" + raw
    return ep.path


def _ipv6_works() -> bool:
    """Whether this machine has IPv6 (a kernel without it refuses the family)."""
    try:
        s = ksock.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as exc:
        if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT):
            return False  # the answer: no IPv6 here
        raise from_oserror(exc, "socket AF_INET6") from exc
    s.close()
    return True


def connect(spec: str | Endpoint, *, source: str | None = None,
            timeout: float | None = None) -> socket.socket:
    """A connected plain socket (``socket`` + ``connect``); for UDP, a pseudo-connected
    one. ``source`` (``ADDR:PORT`` or ``[v6]:PORT``) binds first. Raises NotFound,
    Timeout, NetworkError (with every attempt when all addresses failed); BadInput
    for a ``tls:`` endpoint (:func:`socklab.talk.client.connect` takes those).
    """
    ep = endpoint(spec)
    check_timeout(ep, timeout)
    if ep.tls:
        raise BadInput(f"connect {ep}: a TLS endpoint: use socklab.connect()")
    if not (ep.is_inet or ep.is_local):
        raise BadInput(f"connect {ep}: not a socket endpoint")
    if source is not None and not ep.is_inet:
        raise BadInput(f"connect {ep} --source: a source address is for tcp: and udp: "
                       "endpoints")
    attempts: list[NetworkError] = []
    unfit: BadInput | None = None  # the source has no address of that family
    for family, typ, proto, addr in resolve(ep):
        bind_to = None
        if source is not None:
            try:
                bind_to = _source(source, family, typ)
            except BadInput as exc:
                unfit = exc
                continue
        s = ksock.socket(family, typ, proto, role="client")
        if bind_to is not None:
            try:
                s.bind(bind_to)
            except OSError as exc:
                s.close()
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise BadInput(f"--source {source!r}: not an address of this machine "
                                   f"({exc.strerror})") from exc
                raise from_oserror(exc, f"bind {_fmt(bind_to)} (--source)",
                                   "CAP_NET_BIND_SERVICE") from exc
        try:
            if timeout is not None:
                s.settimeout(timeout)
            s.connect(addr)
            if timeout is not None:
                s.settimeout(None)
            return s
        except TimeoutError as exc:
            s.close()
            attempts.append(Timeout(f"connect {_fmt(addr)}", timeout))
            del exc
        except OSError as exc:
            s.close()
            err = from_oserror(exc, f"connect {_fmt(addr)}", "CAP_NET_BIND_SERVICE")
            if not isinstance(err, NetworkError):
                raise err from exc
            attempts.append(err)
    if not attempts and unfit is not None:
        raise unfit
    if len(attempts) == 1:
        raise attempts[0]
    first = attempts[0]
    raise NetworkError(f"connect {ep}", first.errno_value, "every address failed",
                       attempts=tuple(attempts))


def _fmt(addr: object) -> str:
    from socklab.trace import format_address

    return format_address(addr)


def _source(text: str, family: int, kind: int) -> tuple[object, ...]:
    """The address a client binds to for ``--source``: ``ADDR``, ``ADDR:PORT``,
    ``[V6]:PORT`` or a bare IPv6 address, in ``family``. Raises BadInput naming the
    source when it is malformed, unknown, or has no address of that family."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]")
        if not sep or (port and not port.startswith(":")):
            raise BadInput(f"--source {text!r}: expected [IPV6]:PORT")
        port = port[1:] or "0"
    elif text.count(":") > 1:  # a bare IPv6 address: no port
        host, port = text, "0"
    else:
        host, _, port = text.partition(":")
        port = port or "0"
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise BadInput(f"--source {text!r}: expected ADDR:PORT with a port from 0 to 65535")
    wanted = "IPv6" if family == socket.AF_INET6 else "IPv4"
    try:
        infos = socket.getaddrinfo(host or None, int(port), family, kind, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_ADDRFAMILY, socket.EAI_NODATA, socket.EAI_FAMILY):
            raise BadInput(f"--source {text!r}: not an {wanted} address") from None
        raise BadInput(f"--source {text!r}: cannot resolve {host!r} ({exc.strerror})") from None
    except UnicodeError:
        raise BadInput(f"--source {text!r}: not a valid address or host name") from None
    if not infos:
        raise BadInput(f"--source {text!r}: not an {wanted} address")
    return tuple(infos[0][4])


def listen(spec: str | Endpoint, *, backlog: int = 128, mode: int | None = None,
           reuse: bool = True) -> socket.socket:
    """A bound (and, for stream endpoints, listening) socket.

    ``mode`` chmods a UNIX socket file. Raises NotFound, MissingPrivilege (a port
    below net.ipv4.ip_unprivileged_port_start), NetworkError (address in use ...).
    """
    ep = endpoint(spec)
    if ep.tls:
        raise BadInput(f"{ep}: a TLS listener is made with 'socklab listen --cert/--key'")
    family, typ, proto, addr = resolve(ep, passive=True)[0]
    if ep.is_local and not ep.scheme.startswith("abstract"):
        _clear_stale(ep.path, ep.type)
    s = ksock.socket(family, typ, proto, role="listening" if ep.is_stream else "server")
    try:
        if ep.is_inet and reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and not ep.host:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(addr)
        if ep.is_local and not ep.scheme.startswith("abstract") and mode is not None:
            os.chmod(ep.path, mode)
        if ep.is_stream:
            s.listen(backlog)
    except OSError as exc:
        s.close()
        raise from_oserror(exc, f"listen {ep}", "CAP_NET_BIND_SERVICE") from exc
    return s


def _clear_stale(path: str, kind: int) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise NetworkError(f"listen unix:{path}", errno.EADDRINUSE,  # what bind(2) would say
                           f"{path} exists and is not a socket; not removing it")
    probe = ksock.socket(socket.AF_UNIX, kind)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:  # stale: nothing is bound there any more
            try:
                os.unlink(path)
            except OSError as gone:
                raise from_oserror(gone, f"listen unix:{path}: remove the stale socket "
                                   "file") from gone
            return
        raise NetworkError(f"listen unix:{path}", exc.errno,
                           f"{path} is a socket of another kind or in use") from exc
    finally:
        probe.close()
    raise NetworkError(f"listen unix:{path}", errno.EADDRINUSE,
                       "address in use: another process listens on this path")


def remove_path(spec: str | Endpoint) -> None:
    """Remove the socket file of a UNIX path listener (on exit)."""
    ep = endpoint(spec)
    if ep.is_local and not ep.scheme.startswith("abstract"):
        try:
            if stat.S_ISSOCK(os.lstat(ep.path).st_mode):
                os.unlink(ep.path)
        except FileNotFoundError:
            pass


def socketpair(type: int = socket.SOCK_STREAM) -> tuple[socket.socket, socket.socket]:
    """Two connected, unnamed UNIX sockets (course 2.2.1: anonymous sockets)."""
    return ksock.socketpair(socket.AF_UNIX, type)
