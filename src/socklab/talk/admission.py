"""Who may connect, and taking clients in: the rules every server of socklab shares.

Rules:

1. ``allow``/``deny`` networks: deny wins; with allow, only those; a UNIX peer has
   no address and the networks do not apply to it. IPv4 clients of a dual-stack
   listener arrive as ``::ffff:a.b.c.d`` and are matched as IPv4.
2. ``max_conns``: more clients are accepted and closed at once, as ncat does.
3. Out of descriptors (accept fails with EMFILE, ENFILE, ENOBUFS, ENOMEM:
   accept(2)), a blocking acceptor waits :data:`ACCEPT_PAUSE` and tries again,
   saying it once: the client waits in the listen queue. The event-loop server
   rests its listener for the same pause.

:class:`Admission` is the one check: the event-loop server
(:class:`socklab.talk.serve.Server`) and the blocking paths (one client, the
``--exec`` bridge, the relay) all call :meth:`Admission.refusal`.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple, Protocol

from socklab.errors import BadInput, from_oserror
from socklab.trace import format_address

__all__ = ["ACCEPT_PAUSE", "Admission", "Credentials", "Log", "Network", "accept",
           "accept_admitted", "networks", "peer_credentials", "refusal"]

ACCEPT_PAUSE = 0.1
"""Seconds between two accepts short of descriptors (trio and Go use 100 ms)."""
FD_SHORTAGE = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)  # accept(2)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Log = Callable[[str], None]
"""Where a server says what happens (one line each): ``Server(log=...)`` and the rest."""
Address = object  # what accept() returns: a (host, port ...) tuple, or a UNIX path


def _silent(_message: str) -> None:
    """The default sink: a library user who passes no ``log`` hears nothing."""


def networks(words: Iterable[str], what: str) -> list[Network]:
    """``10.0.0.0/8``, ``::1`` ... as networks; BadInput naming ``what`` otherwise."""
    out: list[Network] = []
    for w in words:
        try:
            out.append(ipaddress.ip_network(w, strict=False))
        except ValueError:
            raise BadInput(f"{what} {w!r}: not an address or CIDR") from None
    return out


def refusal(addr: Address, allow: Iterable[Network], deny: Iterable[Network]) -> str | None:
    """Why a peer is refused by the --allow/--deny networks (deny wins), or None."""
    ip = _peer_ip(addr)
    if ip is None:  # a UNIX peer: the networks do not apply
        return None
    if any(ip in net for net in deny if net.version == ip.version):
        return "denied by --deny"
    allow = list(allow)
    if allow and not any(ip in net for net in allow if net.version == ip.version):
        return "not in --allow"
    return None


def _peer_ip(addr: Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if isinstance(addr, tuple) and addr and isinstance(addr[0], str):
        try:
            ip = ipaddress.ip_address(addr[0].split("%", 1)[0])
        except ValueError:
            return None
        mapped = getattr(ip, "ipv4_mapped", None)
        return mapped if mapped is not None else ip
    return None


class Admission(NamedTuple):
    """The admission rules of one server (rules 1 and 2). A NamedTuple, not a
    dataclass: ``dataclasses`` loads ``inspect`` and costs every command ~2 MiB."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    max_conns: int | None = None

    def refusal(self, addr: Address, open_conns: int = 0) -> str | None:
        """None when the peer may connect while ``open_conns`` are served, else why not."""
        why = refusal(addr, self.allow, self.deny)
        if why is not None:
            return why
        if self.max_conns is not None and open_conns >= self.max_conns:
            return f"too many connections (--max-conns {self.max_conns})"
        return None


class Acceptor(Protocol):
    def accept(self) -> tuple[socket.socket, Address]: ...


def accept(listener: Acceptor, what: str, log: Log = _silent) -> tuple[socket.socket, Address]:
    """``listener.accept()`` (blocking), waiting out a shortage of descriptors (rule 3).
    Other errors: a SocklabError naming ``what``, chained."""
    said = False
    while True:
        try:
            return listener.accept()
        except OSError as exc:
            if exc.errno not in FD_SHORTAGE:
                raise from_oserror(exc, f"accept on {what}") from exc
            if not said:
                log(f"accept: {exc.strerror}: new clients wait until a descriptor frees")
                said = True
            time.sleep(ACCEPT_PAUSE)


def accept_admitted(listener: Acceptor, admission: Admission, what: str,
                    log: Log = _silent, warn: Log | None = None
                    ) -> tuple[socket.socket, Address]:
    """The next client that :meth:`Admission.refusal` lets in; the others are closed,
    each with a ``log`` line. A shortage of descriptors is said to ``warn`` (default
    ``log``): a server quiet about its clients still says it runs short."""
    while True:
        sock, addr = accept(listener, what, warn or log)
        why = admission.refusal(addr)
        if why is None:
            return sock, addr
        log(f"refused {format_address(addr)}: {why}")
        sock.close()


class Credentials(NamedTuple):
    """A UNIX peer's process and user, as the kernel saw them at connect (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int

    def __str__(self) -> str:
        return f"pid={self.pid} uid={self.uid} gid={self.gid}"


_UCRED = struct.Struct("3i")  # struct ucred: pid_t, uid_t, gid_t (unix(7))


def peer_credentials(sock: socket.socket) -> Credentials | None:
    """The UNIX peer's credentials (SO_PEERCRED, unix(7)); None for other families."""
    if sock.family != socket.AF_UNIX:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    except OSError as exc:
        raise from_oserror(exc, "getsockopt SO_PEERCRED") from exc
    return Credentials(*_UCRED.unpack(raw))
