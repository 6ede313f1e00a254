"""TCP connect scan: many non-blocking connects in flight, one epoll loop.

Per port (nmap -sT's vocabulary):

- ``open``: the handshake completed (SO_ERROR 0). On loopback, a connect
  from an ephemeral port to the same port number can connect the socket to
  itself (a "simultaneous open" with itself): that is not a listener, so a
  socket whose local and remote ends are equal counts as ``closed``.
- ``closed``: a RST came back (ECONNREFUSED).
- ``filtered``: no answer before the timeout, or an ICMP unreachable.

Open connections are closed with SO_LINGER 0 (a RST, as nmap does), so the
scan leaves no TIME-WAIT behind.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import collections
import errno
import ipaddress
import marshal
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import Literal, NamedTuple

from socklab.errors import BadInput, NetworkError, SocklabError, from_oserror
from socklab.kernel import sock as ksock
from socklab.names import resolve
from socklab.probe.top_ports import NAMES, TOP_PORTS

__all__ = ["PortResult", "PortState", "judge", "parse_ports", "parse_targets", "scan"]

MAX_HOSTS = 1 << 16  # a /16
LINGER_RST = struct.pack("ii", 1, 0)


PortState = Literal["open", "closed", "filtered"]


class PortResult(NamedTuple):
    host: str
    port: int
    state: PortState
    service: str | None
    reason: str  # syn-ack, conn-refused, no-response, host-unreach ...


def parse_ports(text: str | None, services: dict[str, int] | None = None) -> list[int]:
    """``22,80,8000-8100``, ``-`` (every port), service names; None: the top 1,000."""
    if text is None:
        return list(TOP_PORTS)
    if text.strip() in ("-", "1-65535", "0-65535"):
        return list(range(1, 65536))
    ports: set[int] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise BadInput(f"bad port list {text!r}: empty item")
        lo_text, sep, hi_text = item.partition("-")
        try:
            if sep:
                lo = int(lo_text) if lo_text else 1
                hi = int(hi_text) if hi_text else 65535
            elif item.isdigit():
                lo = hi = int(item)
            else:
                port = (services or {}).get(item)
                if port is None:
                    raise BadInput(f"unknown service name {item!r} in {text!r}")
                lo = hi = port
        except ValueError:
            raise BadInput(f"bad port range {item!r} (expected N, N-M or a service)") from None
        if not 1 <= lo <= hi <= 65535:
            raise BadInput(f"bad port range {item!r} (ports are 1-65535, low-high)")
        ports.update(range(lo, hi + 1))
    return sorted(ports)


def parse_targets(words: Iterable[str]) -> list[str]:
    """Host addresses from names, addresses and CIDR blocks (at most a /16 in all)."""
    out: list[str] = []
    for word in words:
        if _is_address(word) and "%" not in word:  # a zone (fe80::1%eth0) is resolved
            out.append(word)
        elif "/" in word:
            try:
                net = ipaddress.ip_network(word, strict=False)
            except ValueError:
                raise BadInput(f"bad network {word!r}") from None
            if net.num_addresses > MAX_HOSTS:
                raise BadInput(f"{word}: at most a /16 ({MAX_HOSTS} addresses) per scan")
            hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
            out += [str(h) for h in hosts]
        else:
            out.append(resolve(word, "scan", socket.AF_UNSPEC, socket.SOCK_STREAM)[0][1])
        if len(out) > MAX_HOSTS:
            raise BadInput(f"at most {MAX_HOSTS} hosts per scan")
    return out


def _is_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def _services() -> dict[str, int]:
    """TCP service names of /etc/services, as -p accepts them (``ssh``)."""
    from socklab.kernel import procfs

    return {name: port for (port, proto), name in procfs.read_services().items()
            if proto == "tcp"}


def scan(hosts: str | Iterable[str], ports: str | Iterable[int] | None = None, *,
         timeout: float = 1.0, concurrency: int = 1000, names: dict[int, str] | None = None,
         progress: Callable[[int, int], None] | None = None,
         workers: int | None = None) -> list[PortResult]:
    """Scan every (host, port) with TCP connects; results sorted by host then port.

    ``hosts``: a name, an address or a CIDR block, or several (as ``socklab scan``
    takes them). ``ports``: a spec as ``-p`` takes it (``"22,80-90"``, ``"ssh"``,
    ``"-"`` for all), or the port numbers; None, the 1,000 ports nmap scans first.
    ``progress(done, total)`` is called as ports are judged.
    Most of a scan's time is the kernel's (socket, connect, close): large scans
    are split across ``workers`` processes (default: one per CPU, at most 4),
    each with its own epoll loop and ``concurrency`` connects in flight.
    Raises BadInput (a bad spec, a network over a /16), NotFound (a name that
    does not resolve).
    """
    if concurrency < 1 or not 0 < timeout <= 2147483:  # nan fails "0 < x" too
        raise BadInput("scan: concurrency and timeout must be positive (and finite)")
    hosts = parse_targets([hosts] if isinstance(hosts, str) else hosts)
    if ports is None or isinstance(ports, str):
        spec = ports
        ports = parse_ports(spec, _services() if spec and any(c.isalpha() for c in spec)
                            else None)
    else:
        ports = list(ports)
        if not all(isinstance(p, int) and 1 <= p <= 65535 for p in ports):
            raise BadInput("scan: ports are whole numbers from 1 to 65535")
    names = names or NAMES
    targets = [(h, p) for h in hosts for p in ports]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(targets) >= 4096 else 1
    if workers > 1:
        results = _forked(targets, workers, timeout, concurrency, names, progress)
    else:
        results = _scan(targets, timeout, concurrency, names, progress)
    # each host parsed once, not per result; IPv4 before IPv6 (they do not compare)
    order = {h: (ip.version, ip) for h in hosts for ip in (ipaddress.ip_address(h),)}
    results.sort(key=lambda r: (order[r.host], r.port))
    return results


def _forked(targets: list[tuple[str, int]], workers: int, timeout: float, concurrency: int,
            names: dict[int, str], progress: Callable[[int, int], None] | None
            ) -> list[PortResult]:
    """Scan slices in child processes (fork), the last slice here; gather with marshal."""
    slices = [targets[i::workers] for i in range(workers)]
    children = []
    for part in slices[:-1]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: scan, send the results, leave at once
            os.close(r)
            code = 0
            try:
                try:
                    data = marshal.dumps([tuple(x) for x in
                                          _scan(part, timeout, concurrency, names, None)])
                except SocklabError as exc:  # the parent raises it, with the reason
                    code, data = 1, marshal.dumps(str(exc))
                with os.fdopen(w, "wb") as out:
                    out.write(data)
            finally:
                os._exit(code)  # never back into the parent's code (its finally clauses)
        os.close(w)
        children.append((pid, r))
    share = len(targets)

    def scaled(done: int, _total: int) -> None:
        if progress:
            progress(min(done * workers, share), share)

    try:
        results = _scan(slices[-1], timeout, concurrency, names, scaled)
    except BaseException:  # this slice failed (or Ctrl-C): the workers' are moot
        import signal

        for pid, r in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
        raise
    for pid, r in children:
        with os.fdopen(r, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not data:
            why = marshal.loads(data) if data else None
            raise NetworkError("scan", None, "a scanning worker process failed" + (
                f": {why}" if isinstance(why, str) else ""))
        results += [PortResult(*x) for x in marshal.loads(data)]
    if progress:
        progress(share, share)
    return results


def _scan(targets: list[tuple[str, int]], timeout: float, concurrency: int,
          names: dict[int, str], progress: Callable[[int, int], None] | None
          ) -> list[PortResult]:
    total = len(targets)
    results: list[PortResult] = []
    ep = select.epoll()
    flying: dict[int, tuple[socket.socket, str, int, float]] = {}
    # deadlines in the order the connects started, hence sorted: the soonest is the
    # first one still flying (entries of finished sockets are dropped lazily)
    deadlines: collections.deque[tuple[float, int, socket.socket]] = collections.deque()

    def first_deadline() -> float | None:
        while deadlines:
            deadline, fd, sock = deadlines[0]
            entry = flying.get(fd)
            if entry is not None and entry[0] is sock:
                return deadline
            deadlines.popleft()
        return None

    nxt = 0
    nonblock = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
    # a socket whose connect was refused, kept for the next port of its family
    spare: dict[int, socket.socket] = {}

    def finish(host: str, port: int, state: PortState, reason: str) -> None:
        results.append(PortResult(host, port, state, names.get(port), reason))
        if progress:
            progress(len(results), total)

    try:
        while nxt < total or flying:
            while nxt < total and len(flying) < concurrency:
                host, port = targets[nxt]
                nxt += 1
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                s = spare.pop(family, None) or _socket(family, nonblock)
                addr = (host, port)
                code = s.connect_ex(addr)
                if code == errno.EINPROGRESS:
                    # On loopback and local namespaces the answer (SYN-ACK or RST)
                    # is handled before the first call returns: asking again reads
                    # it (0, ECONNREFUSED) or says it is still on its way (EALREADY)
                    code = s.connect_ex(addr)
                if code == errno.ECONNREFUSED:
                    # the refused connect left the socket unconnected (the second
                    # call reset it): the next port reuses it, saving a socket()
                    # and a close() a port, a third of a loopback scan's time
                    spare[family] = s
                    finish(host, port, "closed", "conn-refused")
                    continue
                if code in (errno.EALREADY, errno.EINPROGRESS):
                    fd = s.fileno()
                    deadline = time.monotonic() + timeout
                    flying[fd] = (s, host, port, deadline)
                    deadlines.append((deadline, fd, s))
                    try:
                        ep.register(fd, select.EPOLLOUT)
                    except OSError as exc:  # no room left (max_user_watches, memory)
                        raise from_oserror(exc, "scan: epoll_ctl") from exc
                    continue
                state, reason = _judge(s, code, port)
                s.close()
                finish(host, port, state, reason)
            soonest = first_deadline()
            if soonest is None:
                continue
            for fd, _ev in ep.poll(max(0.0, soonest - time.monotonic()), 1024):
                s, host, port, _d = flying.pop(fd)
                # no epoll_ctl(DEL): closing the only descriptor of a socket takes it
                # out of the epoll set, one system call less per port
                state, reason = _judge(s, s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR),
                                       port)
                s.close()
                finish(host, port, state, reason)
            now = time.monotonic()
            while (soonest := first_deadline()) is not None and soonest <= now:
                _deadline, fd, _sock = deadlines.popleft()
                s, host, port, _d = flying.pop(fd)
                s.close()
                finish(host, port, "filtered", "no-response")
    finally:
        for s, *_ in flying.values():
            s.close()
        for s in spare.values():
            s.close()
        ep.close()
    return results


def _socket(family: int, kind: int) -> socket.socket:
    try:
        return ksock.socket(family, kind)
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):  # one descriptor per connect in flight
            raise NetworkError("scan: socket", exc.errno, f"{os.strerror(exc.errno)}: "
                               "fewer connects in flight (concurrency), or a higher "
                               "limit (ulimit -n)") from exc
        raise from_oserror(exc, "scan: socket") from exc


def _judge(s: socket.socket, code: int, port: int) -> tuple[PortState, str]:
    """The state of a port whose connect ended with ``code`` (0 or an errno);
    an open port's connection is reset on close (SO_LINGER 0), as nmap does."""
    if code == 0:
        try:
            self_connect = s.getsockname()[:2] == s.getpeername()[:2]
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        except OSError:  # reset already (ENOTCONN): the SYN-ACK came, so it is open
            return judge(code, False)
        return judge(code, self_connect)
    return judge(code, False)


def judge(code: int, self_connect: bool) -> tuple[PortState, str]:
    """A port's state and the reason, from its connect's result (SO_ERROR: 0 or an
    errno), as nmap -sT names them. ``self_connect``: the socket connected to
    itself (loopback's simultaneous open), not to a listener."""
    if code == 0:
        return ("closed", "self-connect") if self_connect else ("open", "syn-ack")
    if code == errno.ECONNREFUSED:
        return "closed", "conn-refused"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
        return "filtered", errno.errorcode.get(code, str(code)).lower().replace("e", "", 1)
    if code == errno.ETIMEDOUT:
        return "filtered", "no-response"
    return "filtered", errno.errorcode.get(code, str(code))
