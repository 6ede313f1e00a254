"""The traced socket factory: the one place socklab creates sockets.

Every module that needs a socket calls :func:`socket` or :func:`socketpair`
here instead of the ``socket`` module. While a trace sink listens
(:func:`socklab.trace.active`), the objects handed out are
:class:`TracedSocket`, a ``socket.socket`` subclass that reports each call of
the course's sequence (socket, setsockopt, bind, listen, accept, connect,
send*, recv*, shutdown, close, getsockname, getpeername) as a
:class:`~socklab.trace.TraceEvent`. Otherwise they are plain ``socket.socket``
objects: no wrapper, no per-call cost.

Errors raised here are the OS's own (``OSError``); the callers, which know the
operation and the capability involved, translate them with
:func:`socklab.errors.from_oserror`.
"""

from __future__ import annotations

import os
import socket as _socket
from collections.abc import Callable
from typing import Any, TypeVar

from socklab import trace as _trace
from socklab.trace import TraceEvent, family_name, format_address, type_name

__all__ = ["TracedSocket", "socket", "socketpair", "wrap"]

T = TypeVar("T")
_S = _socket.socket

class TracedSocket(_socket.socket):
    """A ``socket.socket`` whose API calls are reported to the trace sinks."""

    __slots__ = ()

    def _run(self, call: str, args: tuple[str, ...], fn: Callable[[], T],
             show: Callable[[T], str] = lambda _r: "ok") -> T:
        fd = self.fileno()
        try:
            result = fn()
        except OSError as exc:
            message = exc.strerror or str(exc) or type(exc).__name__
            _trace.emit(TraceEvent(call, fd, args, None, exc.errno, message))
            raise
        _trace.emit(TraceEvent(call, fd, args, show(result)))
        return result

    # -- local and remote names -------------------------------------------
    def bind(self, address: Any, /) -> None:
        self._run("bind", (format_address(address, self.family),),
                  lambda: _S.bind(self, address))

    def listen(self, backlog: int = _socket.SOMAXCONN, /) -> None:
        self._run("listen", (str(backlog),), lambda: _S.listen(self, backlog))

    def connect(self, address: Any, /) -> None:
        self._run("connect", (format_address(address, self.family),),
                  lambda: _S.connect(self, address))

    def connect_ex(self, address: Any, /) -> int:
        fd = self.fileno()
        code = _S.connect_ex(self, address)
        shown = (format_address(address, self.family),)
        if code:
            _trace.emit(TraceEvent("connect", fd, shown, None, code, os.strerror(code)))
        else:
            _trace.emit(TraceEvent("connect", fd, shown, "ok"))
        return code

    def accept(self) -> tuple[TracedSocket, Any]:
        def do() -> tuple[TracedSocket, Any]:
            fd, addr = self._accept()  # type: ignore[attr-defined]
            sock = TracedSocket(self.family, self.type, self.proto, fileno=fd)
            # As socket.socket.accept: inherit blocking mode from the default.
            if _socket.getdefaulttimeout() is None and self.gettimeout():
                sock.setblocking(True)
            return sock, addr

        fd = self.fileno()
        try:
            result = do()
        except OSError as exc:
            message = exc.strerror or str(exc) or type(exc).__name__
            _trace.emit(TraceEvent("accept", fd, (), None, exc.errno, message))
            raise
        shown = f"fd {result[0].fileno()} from {format_address(result[1], self.family)}"
        _trace.emit(TraceEvent("accept", fd, (), shown, role="accepted"))
        return result

    def getsockname(self) -> Any:
        return self._run("getsockname", (), lambda: _S.getsockname(self),
                         lambda a: format_address(a, self.family))

    def getpeername(self) -> Any:
        return self._run("getpeername", (), lambda: _S.getpeername(self),
                         lambda a: format_address(a, self.family))

    def setsockopt(self, level: int, option: int, value: Any, *rest: Any) -> None:
        from socklab.kernel import sockconst

        shown = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else str(value)
        args = (sockconst.level_name(level), sockconst.option_name(level, option), shown)
        self._run("setsockopt", args,
                  lambda: _S.setsockopt(self, level, option, value, *rest))

    # -- data -----------------------------------------------------------------
    def send(self, data: Any, flags: int = 0, /) -> int:
        return self._run("send", (f"{len(data)} bytes",),
                         lambda: _S.send(self, data, flags), str)

    def sendall(self, data: Any, flags: int = 0, /) -> None:
        size = memoryview(data).nbytes
        self._run("sendall", (f"{size} bytes",),
                  lambda: _S.sendall(self, data, flags), lambda _r: str(size))

    def sendto(self, data: Any, *args: Any) -> int:
        address = args[-1]
        return self._run("sendto", (f"{len(data)} bytes", format_address(address, self.family)),
                         lambda: _S.sendto(self, data, *args), str)

    def sendmsg(self, buffers: Any, *args: Any) -> int:
        size = sum(memoryview(b).nbytes for b in buffers)
        return self._run("sendmsg", (f"{size} bytes",),
                         lambda: _S.sendmsg(self, buffers, *args), str)

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        return self._run("recv", (str(bufsize),),
                         lambda: _S.recv(self, bufsize, flags),
                         lambda r: f"{len(r)} bytes")

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        size = nbytes or memoryview(buffer).nbytes
        return self._run("recv_into", (str(size),),
                         lambda: _S.recv_into(self, buffer, nbytes, flags),
                         lambda r: f"{r} bytes")

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]:
        return self._run("recvfrom", (str(bufsize),),
                         lambda: _S.recvfrom(self, bufsize, flags),
                         lambda r: f"{len(r[0])} bytes from {format_address(r[1], self.family)}")

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        size = nbytes or memoryview(buffer).nbytes
        return self._run("recvfrom_into", (str(size),),
                         lambda: _S.recvfrom_into(self, buffer, nbytes, flags),
                         lambda r: f"{r[0]} bytes from {format_address(r[1], self.family)}")

    def recvmsg(self, bufsize: int, *args: Any) -> tuple[bytes, list[Any], int, Any]:
        return self._run("recvmsg", (str(bufsize),),
                         lambda: _S.recvmsg(self, bufsize, *args),
                         lambda r: f"{len(r[0])} bytes")

    # -- the end ----------------------------------------------------------------
    def shutdown(self, how: int, /) -> None:
        names = {_socket.SHUT_RD: "SHUT_RD", _socket.SHUT_WR: "SHUT_WR",
                 _socket.SHUT_RDWR: "SHUT_RDWR"}
        self._run("shutdown", (names.get(how, str(how)),),
                  lambda: _S.shutdown(self, how))

    def close(self) -> None:
        fd = self.fileno()
        _S.close(self)
        if fd >= 0:  # closing twice is a no-op in Python: report the real close only
            _trace.emit(TraceEvent("close", fd, (), "ok"))


def _socket_args(family: int, type: int, proto: int) -> tuple[str, str, str]:
    """socket(2)'s arguments as strace names them: the protocol by its family's
    table (``IPPROTO_ICMP``, ``NETLINK_ROUTE``, ``htons(ETH_P_ALL)``)."""
    from socklab.kernel import sockconst

    return family_name(family), type_name(type), sockconst.protocol_name(family, proto)


def socket(family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM,
           proto: int = 0, role: str = "") -> _socket.socket:
    """``socket(2)``: a new socket, traced when a trace sink listens (with the type
    as passed, SOCK_NONBLOCK and SOCK_CLOEXEC included, as strace shows it:
    ``socket.type`` drops them). ``role`` says what it is for (``listening``,
    ``client`` ...): the trace names its fd so (socklab.trace rule 4)."""
    if not _trace.active():
        return _socket.socket(family, type, proto)
    args = _socket_args(family, type, proto)
    try:
        sock: _socket.socket = TracedSocket(family, type, proto)
    except OSError as exc:
        _trace.emit(TraceEvent("socket", None, args, None, exc.errno, exc.strerror or ""))
        raise
    _trace.emit(TraceEvent("socket", None, args, f"fd {sock.fileno()}", role=role))
    return sock


def socketpair(family: int = _socket.AF_UNIX, type: int = _socket.SOCK_STREAM,
               proto: int = 0) -> tuple[_socket.socket, _socket.socket]:
    """``socketpair(2)``: two connected, unnamed sockets."""
    a, b = _socket.socketpair(family, type, proto)
    if not _trace.active():
        return a, b
    ta = TracedSocket(fileno=a.detach())
    tb = TracedSocket(fileno=b.detach())
    args = _socket_args(family, type, proto)
    _trace.emit(TraceEvent("socketpair", None, args, f"[fd {ta.fileno()}, fd {tb.fileno()}]"))
    return ta, tb


def wrap(sock: _socket.socket) -> _socket.socket:
    """Take over a socket made elsewhere, so that its calls are traced too."""
    if not _trace.active() or isinstance(sock, TracedSocket):
        return sock
    timeout = sock.gettimeout()
    traced = TracedSocket(fileno=sock.detach())
    traced.settimeout(timeout)
    return traced
