"""Manual keying of a transport-mode ESP pair for labs: ``socklab ipsec add|del``.

One host's half of an ESP association between ``local`` and ``remote``: two SAs
(``local -> remote`` with ``spi_out``, ``remote -> local`` with ``spi_in``), and two
policies (out and in) whose template asks for ESP in transport mode with those
SAs' ``reqid``. The other host runs the same command with the addresses and the
SPIs swapped. Algorithms: ``cbc(aes)`` for encryption and ``hmac(sha256)``
truncated to 128 bits for integrity (RFC 4868), as ``ip xfrm state add ... enc
'cbc(aes)' KEY auth-trunc 'hmac(sha256)' KEY 128`` sets them.

Rules:

1. Everything is checked before anything is sent (BadInput, exit 2): addresses
   of one family, SPIs from 256 (0 to 255 are reserved, RFC 4303 section 2.1),
   keys in hex of the algorithm's sizes.
2. SAs first, then policies: a policy whose SA is missing would drop the
   traffic it selects. When a step fails, the steps already done are undone,
   and the kernel's refusal is reported (a kernel without ESP answers
   EPROTONOSUPPORT to the first SA).
3. Keys appear in ``--explain`` lines only when asked (``show_keys``).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
from contextlib import nullcontext
from typing import TYPE_CHECKING, NamedTuple

from socklab.errors import BadInput, MissingPrivilege, NetworkError, NotFound, from_oserror
from socklab.ipsec import xfrm
from socklab.ipsec.model import (
    SA,
    Algorithm,
    Current,
    Lifetime,
    Policy,
    Selector,
    Stats,
    Template,
)

if TYPE_CHECKING:  # the socket is made by _open, when a change is sent
    from socklab.kernel.netlink import NetlinkSocket

__all__ = ["EspPair", "add", "add_policy", "delete", "esp_pair", "explain", "messages",
           "policy", "policy_line"]

ENC = "cbc(aes)"
AUTH = "hmac(sha256)"
AUTH_TRUNC_BITS = 128
ENC_KEY_BYTES = (16, 24, 32)
AUTH_KEY_BYTES = 32
NO_LIMIT = (1 << 64) - 1
REPLAY_WINDOW = 32

NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400


class EspPair(NamedTuple):
    local: str
    remote: str
    spi_out: int
    spi_in: int
    reqid: int
    enc_key: bytes
    auth_key: bytes

    @property
    def family(self) -> str:
        return "inet6" if ":" in self.local else "inet"


def _spi(text: str | int, what: str) -> int:
    try:
        value = int(text, 0) if isinstance(text, str) else int(text)
    except ValueError:
        raise BadInput(f"ipsec: {what} {text!r}: a number (0x1000, 4096)") from None
    if not 256 <= value < 1 << 32:
        raise BadInput(f"ipsec: {what} {text!r}: 256 to 2**32-1 (0 to 255 are reserved, "
                       "RFC 4303)")
    return value


def _key(text: str, sizes: tuple[int, ...], what: str) -> bytes:
    raw = text.removeprefix("0x")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise BadInput(f"ipsec: {what}: hexadecimal digits expected") from None
    if len(key) not in sizes:
        raise BadInput(f"ipsec: {what}: {len(key)} bytes, expected "
                       f"{' or '.join(str(8 * n) for n in sizes)} bits")
    return key


def esp_pair(local: str, remote: str, spi_out: str | int, spi_in: str | int,
             enc_key: str, auth_key: str, reqid: int = 1) -> EspPair:
    """Check one host's half of an ESP pair (rule 1); BadInput naming the bad part.
    Messages never quote a key."""
    try:
        la, ra = ipaddress.ip_address(local), ipaddress.ip_address(remote)
    except ValueError as exc:
        raise BadInput(f"ipsec: {exc}") from exc
    if la.version != ra.version:
        raise BadInput("ipsec: local and remote addresses are of different families")
    if la == ra:
        raise BadInput("ipsec: local and remote are the same address")
    out, inn = _spi(spi_out, "outbound SPI"), _spi(spi_in, "inbound SPI")
    if not 0 < reqid < 1 << 32:
        raise BadInput(f"ipsec: reqid {reqid}: 1 to 2**32-1")
    return EspPair(str(la), str(ra), out, inn, reqid,
                   _key(enc_key, ENC_KEY_BYTES, "encryption key"),
                   _key(auth_key, (AUTH_KEY_BYTES,), "authentication key"))


def _host(address: str) -> str:
    return f"{address}/{128 if ':' in address else 32}"


def _sa(p: EspPair, src: str, dst: str, spi: int) -> SA:
    zero = "::/0" if p.family == "inet6" else "0.0.0.0/0"
    return SA(p.family, src, dst, "esp", spi, "transport", p.reqid, 0, REPLAY_WINDOW, 0,
              Selector(p.family, zero, zero, 0, 0, 0, 0, 0, 0, 0),
              Lifetime(NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT, 0, 0, 0, 0),
              Current(0, 0, 0, 0), Stats(0, 0, 0),
              (Algorithm("auth-trunc", AUTH, 8 * len(p.auth_key), AUTH_TRUNC_BITS,
                         p.auth_key),
               Algorithm("enc", ENC, 8 * len(p.enc_key), None, p.enc_key)),
              None, None)


def _policy(p: EspPair, src: str, dst: str, direction: str) -> Policy:
    all_algos = 0xFFFFFFFF
    return Policy(Selector(p.family, _host(src), _host(dst), 0, 0, 0, 0, 0, 0, 0),
                  direction, "allow", 0, 0, 0, 0,
                  Lifetime(NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT, 0, 0, 0, 0),
                  Current(0, 0, 0, 0),
                  (Template(p.family, src, dst, "esp", 0, p.reqid, "transport", 0, False,
                            all_algos, all_algos, all_algos),),
                  None, None)


def parts(p: EspPair) -> tuple[tuple[SA, SA], tuple[Policy, Policy]]:
    """The two SAs (out, in) and two policies (out, in) of the pair."""
    return ((_sa(p, p.local, p.remote, p.spi_out), _sa(p, p.remote, p.local, p.spi_in)),
            (_policy(p, p.local, p.remote, "out"), _policy(p, p.remote, p.local, "in")))


def messages(p: EspPair) -> list[tuple[int, bytes]]:
    """``(message type, payload)`` of each request ``add`` sends, in order (rule 2)."""
    sas, policies = parts(p)
    return ([(xfrm.XFRM_MSG_NEWSA, xfrm.encode_sa(sa)) for sa in sas]
            + [(xfrm.XFRM_MSG_NEWPOLICY, xfrm.encode_policy(pol)) for pol in policies])


def explain(p: EspPair, show_keys: bool = False) -> list[str]:
    """The ``ip xfrm`` lines that do the same on this host (rule 3 for the keys)."""
    enc = f"0x{p.enc_key.hex()}" if show_keys else "0xENC_KEY"
    auth = f"0x{p.auth_key.hex()}" if show_keys else "0xAUTH_KEY"
    lines = []
    for src, dst, spi in ((p.local, p.remote, p.spi_out), (p.remote, p.local, p.spi_in)):
        lines.append(f"ip xfrm state add src {src} dst {dst} proto esp spi 0x{spi:08x} "
                     f"reqid {p.reqid} mode transport replay-window {REPLAY_WINDOW} "
                     f"enc '{ENC}' {enc} auth-trunc '{AUTH}' {auth} {AUTH_TRUNC_BITS}")
    for src, dst, direction in ((p.local, p.remote, "out"), (p.remote, p.local, "in")):
        lines.append(f"ip xfrm policy add src {_host(src)} dst {_host(dst)} dir {direction} "
                     f"tmpl src {src} dst {dst} proto esp reqid {p.reqid} mode transport")
    lines.append(f"# on {p.remote}: the same with the addresses and the SPIs swapped")
    return lines


DIRECTIONS = ("in", "out", "fwd")
POLICY_ACTIONS = ("allow", "block")
IP_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def policy(src: str, dst: str, direction: str, action: str, proto: str | None = None,
           priority: int = 0) -> Policy:
    """A policy with no template, checked (BadInput naming the bad part): ``block``
    drops the packets it selects, ``allow`` lets them pass in clear (ip xfrm's
    ``action``). The selector's addresses are networks of one family (a bare address
    is a /32 or /128)."""
    try:
        s_net = ipaddress.ip_network(src, strict=False)
        d_net = ipaddress.ip_network(dst, strict=False)
    except ValueError as exc:
        raise BadInput(f"ipsec policy: {exc}") from exc
    if s_net.version != d_net.version:
        raise BadInput("ipsec policy: src and dst are of different families")
    if direction not in DIRECTIONS:
        raise BadInput(f"ipsec policy: dir {direction!r}: one of {', '.join(DIRECTIONS)}")
    if action not in POLICY_ACTIONS:
        raise BadInput(f"ipsec policy: action {action!r}: one of {', '.join(POLICY_ACTIONS)}")
    if proto is not None and proto not in IP_PROTOCOLS:
        raise BadInput(f"ipsec policy: proto {proto!r}: one of {', '.join(IP_PROTOCOLS)}")
    if (proto, s_net.version) in (("icmp", 6), ("icmpv6", 4)):
        raise BadInput(f"ipsec policy: proto {proto} with IPv{s_net.version} addresses")
    if isinstance(priority, bool) or not 0 <= priority < 1 << 32:
        raise BadInput(f"ipsec policy: priority {priority!r}: 0 to 2**32-1")
    family = "inet6" if s_net.version == 6 else "inet"
    return Policy(Selector(family, str(s_net), str(d_net), IP_PROTOCOLS.get(proto or "", 0),
                           0, 0, 0, 0, 0, 0),
                  direction, action, priority, 0, 0, 0,
                  Lifetime(NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT, 0, 0, 0, 0),
                  Current(0, 0, 0, 0), (), None, None)


def policy_line(pol: Policy) -> str:
    """The ``ip xfrm policy add`` line of a policy made by :func:`policy`."""
    names = {v: k for k, v in IP_PROTOCOLS.items()}
    proto = f" proto {names.get(pol.selector.proto, pol.selector.proto)}" \
        if pol.selector.proto else ""
    return (f"ip xfrm policy add src {pol.selector.src} dst {pol.selector.dst}{proto} "
            f"dir {pol.dir} action {pol.action} priority {pol.priority}")


def add_policy(pol: Policy, netns: str | None = None) -> None:
    """Add one policy (XFRM_MSG_NEWPOLICY); NetworkError with the kernel's words when
    refused (File exists: the same selector and direction are taken)."""
    sock = _open(netns)
    with sock:
        _send(sock, xfrm.XFRM_MSG_NEWPOLICY, xfrm.encode_policy(pol),
              f"ipsec: add policy {pol.dir} {pol.selector.src} -> {pol.selector.dst}")


def _send(sock: NetlinkSocket, msg_type: int, payload: bytes, op: str) -> None:
    """One change, acknowledged; a refusal carries the kernel's own sentence (its
    extended ack, ``Requested type not found`` for a protocol it lacks) beside the
    errno's text."""
    flags = (NLM_F_CREATE | NLM_F_EXCL if msg_type in (xfrm.XFRM_MSG_NEWSA,
                                                       xfrm.XFRM_MSG_NEWPOLICY) else 0)
    try:
        sock.transact(msg_type, payload, flags)
    except OSError as exc:
        said = getattr(exc, "ext_msg", None)
        kernel = f" (the kernel: {said})" if said else ""
        if exc.errno == errno.EPROTONOSUPPORT:
            raise NetworkError(op, exc.errno, f"Protocol not supported{kernel}: this kernel "
                               "has no ESP (the esp4/esp6 modules, CONFIG_INET_ESP)") from exc
        if exc.errno == errno.ESRCH:
            raise NotFound(f"{op}: no such SA or policy") from exc
        translated = from_oserror(exc, op, "CAP_NET_ADMIN")
        if said and isinstance(translated, NetworkError):
            translated = NetworkError(op, exc.errno, f"{os.strerror(exc.errno or 0)}{kernel}")
        raise translated from exc


def _open(netns: str | None) -> NetlinkSocket:
    from socklab.kernel import caps, netlink
    from socklab.kernel import netns as knetns

    if not caps.has("CAP_NET_ADMIN"):
        raise MissingPrivilege("ipsec: change the SAs and policies", "CAP_NET_ADMIN",
                               "run as root or with CAP_NET_ADMIN")
    with knetns.entered(netns) if netns else nullcontext():
        try:
            sock = netlink.NetlinkSocket(netlink.NETLINK_XFRM)
        except OSError as exc:
            raise from_oserror(exc, "ipsec: open an xfrm netlink socket",
                               "CAP_NET_ADMIN") from exc
    sock.enable_ext_ack()
    return sock


PARTS = ("states", "policies")


def add(p: EspPair, netns: str | None = None, what: tuple[str, ...] = PARTS) -> None:
    """Add the pair's SAs then policies; on failure, undo what was done (rule 2).

    ``what``: both (the default), or only ``("states",)`` or ``("policies",)``: a
    policy alone, without its SAs, is how a lab or the tour shows policies on a
    kernel without ESP (the kernel then holds back the traffic it selects)."""
    if not what or any(w not in PARTS for w in what):
        raise BadInput(f"ipsec add: parts {what!r}: states, policies or both")
    sock = _open(netns)
    sas, policies = parts(p)
    undo: list[tuple[int, bytes]] = []
    with sock:
        try:
            for sa in sas if "states" in what else ():
                _send(sock, xfrm.XFRM_MSG_NEWSA, xfrm.encode_sa(sa),
                      f"ipsec: add SA esp spi 0x{sa.spi:08x} {sa.src} -> {sa.dst}")
                undo.append((xfrm.XFRM_MSG_DELSA, xfrm.encode_sa_id(sa)))
            for pol in policies if "policies" in what else ():
                _send(sock, xfrm.XFRM_MSG_NEWPOLICY, xfrm.encode_policy(pol),
                      f"ipsec: add policy {pol.dir} {pol.selector.src} -> "
                      f"{pol.selector.dst}")
                undo.append((xfrm.XFRM_MSG_DELPOLICY, xfrm.encode_policy_id(pol)))
        except BaseException:
            for msg_type, payload in reversed(undo):
                # the error being raised says what went wrong first
                with contextlib.suppress(NetworkError, NotFound):
                    _send(sock, msg_type, payload, "ipsec: undo")
            raise


def delete(p: EspPair, netns: str | None = None) -> list[str]:
    """Delete the pair's policies then SAs; returns what was not there (NotFound)."""
    sock = _open(netns)
    sas, policies = parts(p)
    missing = []
    steps = ([(xfrm.XFRM_MSG_DELPOLICY, xfrm.encode_policy_id(pol),
               f"policy {pol.dir} {pol.selector.src} -> {pol.selector.dst}")
              for pol in policies]
             + [(xfrm.XFRM_MSG_DELSA, xfrm.encode_sa_id(sa),
                 f"SA esp spi 0x{sa.spi:08x} {sa.src} -> {sa.dst}") for sa in sas])
    with sock:
        for msg_type, payload, what in steps:
            try:
                _send(sock, msg_type, payload, f"ipsec: delete {what}")
            except NotFound:
                missing.append(what)
    return missing
