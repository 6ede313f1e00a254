"""Socket-call tracing: the events, their two spellings, and who listens.

Rule 1: every socket API call socklab makes goes through one instrumentation
point, :mod:`socklab.kernel.sock`. This module holds no I/O of its own beyond
the sinks' ``write``; it defines what a call looks like once it happened.

Rule 2: when nobody listens, nothing is formatted. The factory in
:mod:`socklab.kernel.sock` hands out plain ``socket.socket`` objects while
:func:`active` is false, so an untraced socket costs exactly what Python's
costs. Tracing is decided when a socket is made.

Rule 3: one event, two spellings: :meth:`TraceEvent.text` reads like strace
(``bind(fd 5, 127.0.0.1:0) = ok``) and :meth:`TraceEvent.as_dict` is the
``--trace=json`` line.

Rule 4: roles, not numbers. A socket made for a purpose socklab knows carries
it (``listening``, ``client``, ``accepted``, ``server``, ``receiver``: the
``role`` of the event that created it); a :class:`Roles` reader then names each
fd by its role where it first appears and labels it after (``accept(fd 3
(listening)) = fd 5 (accepted)``), until it is closed. The label is added to the
text only: the call, its arguments and its result stay what strace shows.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import errno as _errno
import os
import re
import socket as _socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TextIO

__all__ = [
    "Roles",
    "TraceEvent",
    "active",
    "format_address",
    "json_sink",
    "subscribe",
    "text_sink",
    "tracing",
    "unsubscribe",
]

Sink = Callable[["TraceEvent"], None]

_sinks: list[Sink] = []


class TraceEvent(NamedTuple):
    """One socket call, after it returned or raised.

    ``args`` are already human strings (``"127.0.0.1:0"``, ``"5 bytes"``);
    ``result`` is the value shown after ``=`` (``"ok"``, ``"fd 6"``, ``"5"``),
    or None when the call failed with ``errno``.
    """

    call: str
    fd: int | None
    args: tuple[str, ...] = ()
    result: str | None = None
    errno: int | None = None
    message: str = ""
    time: float = 0.0  # set by the factory (time.time()) when the call returned
    role: str = ""  # socket, accept: what the socket created is for (rule 4)

    def text(self) -> str:
        parts = ([f"fd {self.fd}"] if self.fd is not None else []) + list(self.args)
        head = f"{self.call}({', '.join(parts)})"
        if self.errno is not None:
            name = _errno.errorcode.get(self.errno, str(self.errno))
            return f"{head} = -1 {name} ({self.message or os.strerror(self.errno)})"
        if self.result is None and self.message:
            return f"{head} = -1 ({self.message})"
        return f"{head} = {self.result}"

    def __str__(self) -> str:
        return self.text()

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": round(self.time, 6),
            "call": self.call,
            "fd": self.fd,
            "args": list(self.args),
            "result": self.result,
            "errno": _errno.errorcode.get(self.errno) if self.errno is not None else None,
            "error": self.message or None,
        }


def active() -> bool:
    """True when at least one sink listens: new sockets will be traced."""
    return bool(_sinks)


def subscribe(sink: Sink) -> None:
    _sinks.append(sink)


def unsubscribe(sink: Sink) -> None:
    _sinks.remove(sink)


def emit(event: TraceEvent) -> None:
    if not event.time:
        event = event._replace(time=time.time())
    for sink in tuple(_sinks):
        sink(event)


@contextmanager
def tracing(sink: Sink) -> Iterator[None]:
    """Send the events of sockets made inside the block to ``sink``."""
    subscribe(sink)
    try:
        yield
    finally:
        unsubscribe(sink)


_FD = re.compile(r"\bfd (\d+)\b")
CREATES = frozenset({"socket", "accept", "socketpair"})
"""The calls whose result names new fds."""


class Roles:
    """fd -> role for one reader of the trace (rule 4).

    Roles come from the events (``TraceEvent.role``), or, first, from names the
    reader announced for the next sockets created (:meth:`expect`: the tour names
    its sockets in the language it speaks; ``from_events=False`` keeps to those).
    A role is forgotten when its fd is closed: the number may come back.
    """

    def __init__(self, from_events: bool = True) -> None:
        self.from_events = from_events
        self._pending: list[str] = []
        self._roles: dict[int, str] = {}

    def expect(self, *roles: str) -> None:
        """Name the sockets the next creating calls make, in order."""
        self._pending.extend(roles)

    def clear(self) -> None:
        self._pending.clear()
        self._roles.clear()

    def of(self, fd: int | None) -> str | None:
        return self._roles.get(fd) if fd is not None else None

    def created(self, event: TraceEvent) -> list[int]:
        """The fds a creating call returned (none for other calls, or a failure)."""
        if event.call not in CREATES or not event.result:
            return []
        return [int(fd) for fd in _FD.findall(event.result)]

    def see(self, event: TraceEvent) -> str:
        """Take the event's roles in and return its text, each known fd labelled; a
        closed fd's role is forgotten after its close is labelled; a creating call
        that failed made no socket, so the name announced for it goes unused."""
        if event.call in CREATES and event.errno is not None and self._pending:
            self._pending.pop(0)
        for fd in self.created(event):
            role = self._pending.pop(0) if self._pending else (
                event.role if self.from_events else "")
            if role:
                self._roles[fd] = role
        text = self.labelled(event.text())
        if event.call == "close" and event.fd is not None:
            self._roles.pop(event.fd, None)
        return text

    def labelled(self, text: str) -> str:
        """``fd 5`` -> ``fd 5 (accepted)`` for every fd whose role is known."""
        def label(m: re.Match[str]) -> str:
            role = self._roles.get(int(m.group(1)))
            return f"{m.group(0)} ({role})" if role else m.group(0)
        return _FD.sub(label, text)


def text_sink(stream: TextIO | None = None, prefix: str = "") -> Sink:
    """A sink printing one strace-like line per call (to stderr by default), each fd
    named by its role where socklab knows it (rule 4)."""
    roles = Roles()

    def sink(event: TraceEvent) -> None:
        out = stream if stream is not None else sys.stderr
        out.write(f"{prefix}{roles.see(event)}\n")
        out.flush()

    return sink


def json_sink(stream: TextIO | None = None) -> Sink:
    """A sink printing one JSON object per call (JSON lines); ``role`` is the role of
    the socket the call is on, or of the one it created (rule 4), null if unknown."""

    import json

    roles = Roles()

    def sink(event: TraceEvent) -> None:
        out = stream if stream is not None else sys.stderr
        made = roles.created(event)
        before = roles.of(event.fd)  # a close forgets the role: read it first
        roles.see(event)
        record = event.as_dict()
        record["role"] = roles.of(made[0]) if made else before
        out.write(json.dumps(record) + "\n")
        out.flush()

    return sink


_FAMILY_NAMES = {int(f): f.name for f in _socket.AddressFamily}
_AF_NETLINK = getattr(_socket, "AF_NETLINK", 16)
_AF_PACKET = getattr(_socket, "AF_PACKET", 17)
_PACKET_TYPES = ("PACKET_HOST", "PACKET_BROADCAST", "PACKET_MULTICAST", "PACKET_OTHERHOST",
                 "PACKET_OUTGOING")  # linux/if_packet.h, 0 to 4
_ARPHRD = {1: "ARPHRD_ETHER", 772: "ARPHRD_LOOPBACK", 0xFFFE: "ARPHRD_NONE"}
_TYPE_NAMES = {int(t): t.name for t in _socket.SocketKind}


def family_name(family: int) -> str:
    return _FAMILY_NAMES.get(family, str(family))


def type_name(kind: int) -> str:
    flags = []
    base = kind & 0xF
    if kind & getattr(_socket, "SOCK_NONBLOCK", 0):
        flags.append("SOCK_NONBLOCK")
    if kind & getattr(_socket, "SOCK_CLOEXEC", 0):
        flags.append("SOCK_CLOEXEC")
    return "|".join([_TYPE_NAMES.get(base, str(base)), *flags])


def _sockaddr_ll(address: tuple[Any, ...]) -> str:
    """Python's AF_PACKET address ``(ifname, protocol, pkttype, hatype, addr)`` with
    struct sockaddr_ll's field names, as strace writes them."""
    from socklab.kernel.sockconst import ETH_P

    name, proto = address[0], address[1]
    fields = [f"sll_protocol=htons({ETH_P.get(proto) or f'0x{proto:04x}'})",
              f'sll_ifindex=if_nametoindex("{name}")']
    if len(address) >= 4:
        pkttype, hatype = address[2], address[3]
        fields.append(f"sll_hatype={_ARPHRD.get(hatype, str(hatype))}")
        fields.append("sll_pkttype=" + (_PACKET_TYPES[pkttype] if 0 <= pkttype < 5
                                        else str(pkttype)))
    if len(address) >= 5 and address[4]:
        fields.append("sll_addr=" + ":".join(f"{b:02x}" for b in address[4]))
    return "{" + ", ".join(fields) + "}"


def format_address(address: object, family: int | None = None) -> str:
    """A socket address as people write it.

    ``("127.0.0.1", 80)`` -> ``127.0.0.1:80``; ``("::1", 80, 0, 0)`` -> ``[::1]:80``;
    a UNIX path as is; an abstract name (leading NUL) as ``@name``; the unnamed
    UNIX address as ``(unnamed)``; with ``family`` AF_NETLINK, ``(pid, groups)``
    -> ``{nl_pid=0, nl_groups=0}`` (struct sockaddr_nl's fields, as strace
    names them; the groups as a hexadecimal mask); with AF_PACKET, struct
    sockaddr_ll's fields (``{sll_protocol=htons(ETH_P_ALL), sll_ifindex=...}``).
    """
    if family == _AF_NETLINK and isinstance(address, tuple) and len(address) == 2:
        pid, groups = address
        return f"{{nl_pid={pid}, nl_groups={groups if not groups else hex(groups)}}}"
    if family == _AF_PACKET and isinstance(address, tuple) and len(address) >= 2:
        return _sockaddr_ll(address)
    if isinstance(address, tuple):
        if len(address) >= 2 and isinstance(address[0], str) and isinstance(address[1], int):
            host, port = address[0], address[1]
            if ":" in host:
                return f"[{host}]:{port}"
            return f"{host}:{port}"
        return str(address)
    if isinstance(address, bytes):
        if address.startswith(b"\0"):
            return "@" + address[1:].decode(errors="backslashreplace")
        address = address.decode(errors="backslashreplace")
    if isinstance(address, str):
        if address == "":
            return "(unnamed)"
        if address.startswith("\0"):
            return "@" + address[1:]
        return address
    return repr(address)
