"""Endpoint addresses: one grammar, one pure parser, ``parse(str(e)) == e``.

Grammar (socat-like)::

    endpoint   = "stdio" | "-" | exec | ["tls:"] inet | local | raw
    inet       = ("tcp" | "tcp4" | "tcp6" | "udp" | "udp4" | "udp6") ":" host ":" port
    host       = "" (every address, to listen) | "[" IPv6 "]" | name-or-IPv4
    port       = 0-65535 (0: the kernel picks) | a service name ("http")
    local      = ("unix" | "unix-dgram" | "unix-seqpacket") ":" PATH
               | ("abstract" | "abstract-dgram" | "abstract-seqpacket") ":" NAME
    exec       = "exec:" PROGRAM [ARGS]      (split like a shell would, but no shell runs)
    raw        = ("ip4" | "ip6") ":" host ":" proto | "packet:" DEV
    proto      = 1-254 | a name of /etc/protocols ("gre", "ospf"), resolved when opened
    DEV        = an interface name (1-15 bytes, no '/', ':' or space: dev_valid_name)

``ip4:``/``ip6:`` is a raw IP socket (SOCK_RAW with that protocol number, course
2.1.1); ``packet:`` a PF_PACKET socket bound to one device (frames in and out).
Protocol 0 and 255 (IPPROTO_RAW) are refused: the kernel delivers no packet to
such a socket (raw(7)); a raw endpoint needs CAP_NET_RAW when opened.

``tls:`` only goes in front of a TCP endpoint. Errors are
:class:`~socklab.errors.BadAddress` with the position and what was expected.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import shlex
import socket
from typing import NamedTuple

from socklab.errors import BadAddress

__all__ = ["Endpoint", "parse", "parse_endpoint"]

INET_SCHEMES = {
    "tcp": (socket.AF_UNSPEC, socket.SOCK_STREAM), "tcp4": (socket.AF_INET, socket.SOCK_STREAM),
    "tcp6": (socket.AF_INET6, socket.SOCK_STREAM), "udp": (socket.AF_UNSPEC, socket.SOCK_DGRAM),
    "udp4": (socket.AF_INET, socket.SOCK_DGRAM), "udp6": (socket.AF_INET6, socket.SOCK_DGRAM),
}
LOCAL_SCHEMES = {
    "unix": socket.SOCK_STREAM, "unix-dgram": socket.SOCK_DGRAM,
    "unix-seqpacket": socket.SOCK_SEQPACKET, "abstract": socket.SOCK_STREAM,
    "abstract-dgram": socket.SOCK_DGRAM, "abstract-seqpacket": socket.SOCK_SEQPACKET,
}
RAW_SCHEMES = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6,
               "packet": getattr(socket, "AF_PACKET", 17)}
SCHEMES = [*INET_SCHEMES, *LOCAL_SCHEMES, *RAW_SCHEMES, "tls", "exec", "stdio"]
_SERVICE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._%")


class Endpoint(NamedTuple):
    """A parsed endpoint. ``str()`` gives back the canonical spelling."""

    scheme: str  # tcp, tcp4, ..., unix, abstract-dgram, stdio, exec, ip4, ip6, packet
    host: str = ""  # inet, ip4/ip6: "" for every address; an IPv6 literal without brackets;
    #                 packet: the device
    port: int | str = 0  # inet: a number or a service name; ip4/ip6: the protocol
    path: str = ""  # unix: the path; abstract: the name (without the leading NUL)
    argv: tuple[str, ...] = ()  # exec
    tls: bool = False

    @property
    def family(self) -> int:
        if self.scheme in INET_SCHEMES:
            return INET_SCHEMES[self.scheme][0]
        if self.scheme in RAW_SCHEMES:
            return RAW_SCHEMES[self.scheme]
        return socket.AF_UNIX

    @property
    def type(self) -> int:
        if self.scheme in INET_SCHEMES:
            return INET_SCHEMES[self.scheme][1]
        if self.scheme in RAW_SCHEMES:
            return socket.SOCK_RAW
        return LOCAL_SCHEMES.get(self.scheme, socket.SOCK_STREAM)

    @property
    def is_inet(self) -> bool:
        return self.scheme in INET_SCHEMES

    @property
    def is_local(self) -> bool:
        return self.scheme in LOCAL_SCHEMES

    @property
    def is_raw(self) -> bool:
        """A raw IP (``ip4:``, ``ip6:``) or packet (``packet:``) endpoint."""
        return self.scheme in RAW_SCHEMES

    @property
    def is_stream(self) -> bool:
        return self.type in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET)

    @property
    def sockaddr(self) -> str | bytes:
        """The AF_UNIX address: the path, or the abstract name with its NUL."""
        if self.scheme.startswith("abstract"):
            return b"\0" + self.path.encode()
        return self.path

    def __str__(self) -> str:
        if self.scheme == "stdio":
            return "stdio"
        if self.scheme == "exec":
            return "exec:" + shlex.join(self.argv)
        if self.is_local:
            return f"{self.scheme}:{self.path}"
        if self.scheme == "packet":
            return f"packet:{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'tls:' if self.tls else ''}{self.scheme}:{host}:{self.port}"


def parse(text: str) -> Endpoint:
    """Parse an endpoint; raises BadAddress(text, position, expected), and nothing else."""
    # a surrogate stands for a byte of the command line that is not UTF-8 (PEP 383):
    # no path, name or program socklab passes on can hold it
    bad = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise BadAddress(text, bad, "UTF-8 text (this byte is not)")
    if text in ("-", "stdio"):
        return Endpoint("stdio")
    scheme, sep, rest = text.partition(":")
    if not sep:
        raise BadAddress(text, len(text), "':' after the endpoint type (tcp:HOST:PORT, "
                         "unix:PATH, stdio ...)")
    if scheme == "tls":
        inner = parse(rest) if rest else None
        if inner is None or inner.scheme not in ("tcp", "tcp4", "tcp6") or inner.tls:
            raise BadAddress(text, 4, "a TCP endpoint after 'tls:' (tls:tcp:HOST:PORT)")
        return inner._replace(tls=True)
    if scheme == "exec":
        try:
            argv = tuple(shlex.split(rest))
        except ValueError as exc:
            raise BadAddress(text, 5, f"a program and arguments ({exc})") from None
        if not argv:
            raise BadAddress(text, 5, "a program to run (exec:PROGRAM ARGS)")
        if "\0" in rest:  # no argument of execve() can hold one
            raise BadAddress(text, 5 + rest.index("\0"), "no NUL byte")
        return Endpoint("exec", argv=argv)
    if scheme in LOCAL_SCHEMES:
        if not rest:
            what = "a name" if scheme.startswith("abstract") else "a path"
            raise BadAddress(text, len(scheme) + 1, what)
        if "\0" in rest:
            raise BadAddress(text, len(scheme) + 1 + rest.index("\0"), "no NUL byte")
        limit = 107  # sun_path is 108 bytes: a path needs its NUL, a name its leading NUL
        if len(rest.encode()) > limit:
            raise BadAddress(text, len(scheme) + 1 + limit,
                             f"at most {limit} bytes (sun_path is 108 bytes)")
        return Endpoint(scheme, path=rest)
    if scheme == "packet":
        return Endpoint("packet", host=_device(text, rest, len(scheme) + 1))
    if scheme in ("ip4", "ip6"):
        ep = _parse_inet(text, scheme, rest, len(scheme) + 1, what="PROTO")
        return ep._replace(port=_protocol(text, str(ep.port), len(text) - len(str(ep.port))))
    if scheme not in INET_SCHEMES:
        raise BadAddress(text, 0, "an endpoint type: " + ", ".join(SCHEMES))
    return _parse_inet(text, scheme, rest, len(scheme) + 1)


def _device(text: str, name: str, at: int) -> str:
    """An interface name as the kernel accepts one (dev_valid_name: 1 to 15 bytes,
    not "." or "..", no '/', ':' or white space)."""
    if not name:
        raise BadAddress(text, at, "an interface name (packet:eth0)")
    bad = next((i for i, c in enumerate(name)
                if c in "/:" or c.isspace() or not c.isprintable()), None)
    if bad is not None:
        raise BadAddress(text, at + bad, "an interface name (no '/', ':' or space)")
    if name in (".", ".."):
        raise BadAddress(text, at, "an interface name other than '.' and '..'")
    if len(name.encode()) > 15:
        raise BadAddress(text, at, "an interface name of at most 15 bytes (IFNAMSIZ)")
    return name


def _protocol(text: str, proto: str, at: int) -> int | str:
    """An IP protocol: a number from 1 to 254, or a name looked up when opened."""
    if proto.isascii() and proto.isdigit():
        value = int(proto)
        if not 0 < value < 255 or (len(proto) > 1 and proto[0] == "0"):
            raise BadAddress(text, at, "a protocol from 1 to 254 (0 and 255, IPPROTO_RAW, "
                             "receive no packet: raw(7))")
        return value
    bad = next((i for i, c in enumerate(proto.lower()) if c not in _SERVICE_CHARS), None)
    if bad is not None or not proto[0].isalpha() or len(proto) > 32:
        raise BadAddress(text, at + (bad or 0), "a protocol number or name (253, gre, ospf)")
    return proto


def _parse_inet(text: str, scheme: str, rest: str, at: int, what: str = "PORT") -> Endpoint:
    if rest.startswith("["):
        close = rest.find("]")
        if close == -1:
            raise BadAddress(text, at + len(rest), "']' closing the IPv6 address")
        host = rest[1:close]
        address, pct, zone = host.partition("%")
        try:
            socket.inet_pton(socket.AF_INET6, address)
        except (OSError, ValueError):  # ValueError: a NUL in it
            raise BadAddress(text, at + 1, "an IPv6 address inside [ ]") from None
        # the zone is an interface name or index (RFC 4007 section 11): at most
        # 15 bytes (IFNAMSIZ), no '/', space or control character (dev_valid_name)
        if pct and (not 0 < len(zone.encode()) <= 15
                    or any(c == "/" or c.isspace() or not c.isprintable() for c in zone)):
            raise BadAddress(text, at + 1 + len(address) + 1,
                             "an interface name or index after '%' (at most 15 bytes)")
        if scheme.endswith("4"):
            raise BadAddress(text, at, f"an IPv4 address or a name (this is {scheme})")
        after = rest[close + 1:]
        if not after.startswith(":"):
            raise BadAddress(text, at + close + 1, f"':{what}' after the IPv6 address")
        port_text, port_at = after[1:], at + close + 2
    else:
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            raise BadAddress(text, at + len(rest), f"':{what}' ({scheme}:HOST:{what}; "
                             "empty HOST for every address)")
        if ":" in host:
            raise BadAddress(text, at, "an IPv6 address in brackets ([::1])")
        bad = next((i for i, c in enumerate(host) if c not in _HOST_CHARS), None)
        if bad is not None:
            raise BadAddress(text, at + bad, "a host name or address")
        port_at = at + len(host) + 1
    if what == "PROTO":  # checked by the caller
        if not port_text:
            raise BadAddress(text, port_at, "a protocol number or name (253, gre, ospf)")
        return Endpoint(scheme, host=host, port=port_text)
    return Endpoint(scheme, host=host, port=_port(text, port_text, port_at))


def _port(text: str, port: str, at: int) -> int | str:
    if not port:
        raise BadAddress(text, at, "a port number or service name")
    if port.isascii() and port.isdigit():  # not "²" or "٣": digits to str.isdigit()
        value = int(port)
        if value > 65535 or (len(port) > 1 and port[0] == "0"):
            raise BadAddress(text, at, "a port from 0 to 65535")
        return value
    bad = next((i for i, c in enumerate(port) if c not in _SERVICE_CHARS), None)
    if bad is not None or not port[0].isalpha():
        raise BadAddress(text, at + (bad or 0), "a port number or service name")
    return port


parse_endpoint = parse  # the name socklab exports
