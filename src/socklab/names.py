"""Host names checked before they reach the resolver, then resolved (ping, traceroute,
scan, and the endpoints of connect, listen, send).

A name the DNS could never carry is the user's mistake, told as one: RFC 1035
(2.3.4) allows labels of 1 to 63 octets and names of at most 255 octets on
the wire, 253 characters as text. Python's resolver would otherwise fail
inside its IDNA codec (``UnicodeError: label too long``), and bytes that are
not UTF-8 (kept as surrogates in ``sys.argv``) fail the same way.
"""

from __future__ import annotations

import socket

from socklab.errors import BadInput, NotFound
from socklab.kernel.procfs import read_services as read_services  # port names: /etc/services

__all__ = ["check_host", "read_services", "resolve"]

MAX_NAME, MAX_LABEL = 253, 63


def _shown(host: str) -> str:
    """The host as an error message shows it: quoted, undecodable bytes and control
    characters as ``\\xNN``, cut when long."""
    text = host if len(host) <= 40 else host[:37] + "..."
    try:  # bytes that were not UTF-8 arrive as surrogates (PEP 383): show the bytes
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "'" + "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c
                         for c in text) + "'"


def _is_address(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host.split("%", 1)[0])
            return True
        except (OSError, ValueError):
            continue
    return False


def check_host(host: str, what: str) -> None:
    """Raise BadInput naming the problem when ``host`` cannot be a host name or
    an address; ``what`` names the command (``"ping"``)."""
    try:
        host.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{what}: host {_shown(host)} is not valid UTF-8") from None
    if not host:
        raise BadInput(f"{what}: empty host name")
    if any(ord(c) < 32 or ord(c) == 127 for c in host):
        raise BadInput(f"{what}: host {_shown(host)} holds a control character")
    if _is_address(host):
        return
    name = host[:-1] if host.endswith(".") else host
    try:
        wire = name.encode("idna") if not name.isascii() else name.encode("ascii")
    except UnicodeError:
        wire = b""
    if len(wire or name) > MAX_NAME:
        raise BadInput(f"{what}: host name {_shown(host)} is {len(wire or name)} characters "
                       f"long (at most {MAX_NAME}, RFC 1035)")
    for label in name.split("."):
        if not label:
            raise BadInput(f"{what}: host name {_shown(host)} has an empty label")
        size = len(label.encode("idna")) if not label.isascii() and wire else len(label)
        if size > MAX_LABEL:
            raise BadInput(f"{what}: host name {_shown(host)} has a label of {size} characters "
                           f"(at most {MAX_LABEL}, RFC 1035)")
    if not wire:
        raise BadInput(f"{what}: host name {_shown(host)} is not a valid international "
                       "name (IDNA)")


def resolve(host: str, what: str, family: int = socket.AF_UNSPEC,
            socktype: int = 0) -> list[tuple[int, str]]:
    """``[(family, address), ...]`` of ``host``, checked first (:func:`check_host`).
    Raises BadInput for a malformed name, NotFound for a name that does not resolve."""
    check_host(host, what)
    try:
        infos = socket.getaddrinfo(host, None, family, socktype)
    except socket.gaierror as exc:
        raise NotFound(f"{what} {host}: cannot resolve ({exc.strerror})") from exc
    except (UnicodeError, ValueError) as exc:  # what check_host did not foresee
        raise BadInput(f"{what}: host {_shown(host)} is not a valid name ({exc})") from exc
    out: list[tuple[int, str]] = []
    for fam, _type, _proto, _canon, addr in infos:
        text = str(addr[0])
        scope = int(addr[3]) if len(addr) == 4 else 0
        if scope and "%" not in text:
            try:  # a link-local address keeps its zone (fe80::1%eth0)
                text += "%" + socket.if_indextoname(scope)
            except OSError:
                text += f"%{scope}"
        if (fam, text) not in out:
            out.append((int(fam), text))
    if not out:
        raise NotFound(f"{what} {host}: no address")
    return out
