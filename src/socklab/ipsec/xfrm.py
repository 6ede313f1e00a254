"""socklab's xfrm netlink codec (``NETLINK_XFRM``, ``<linux/xfrm.h>``).

Policies come as ``XFRM_MSG_NEWPOLICY`` messages (``struct xfrm_userpolicy_info``,
then attributes: ``XFRMA_TMPL`` an array of ``struct xfrm_user_tmpl``,
``XFRMA_MARK``, ``XFRMA_IF_ID``) in answer to an ``XFRM_MSG_GETPOLICY`` dump;
SAs as ``XFRM_MSG_NEWSA`` (``struct xfrm_usersa_info``, then the algorithm
attributes ``XFRMA_ALG_*``) in answer to ``XFRM_MSG_GETSA``. The encoders
write what ``ip xfrm policy add`` / ``ip xfrm state add`` send, so that the
decoders are tested on every field even where the kernel has no ESP or AH.

Rules:

1. Layouts are ``struct.Struct`` tables in native byte order (xfrm structs are
   host-order), with the ``__be16``/``__be32`` fields (ports, SPI) kept as raw
   bytes and read big-endian. Sizes are checked against the C structs in a
   test that compiles the header.
2. Pure functions; what cannot be read is :class:`~socklab.errors.Malformed`
   naming the struct and offset.
3. Keys are read only when asked (``keys=True``): otherwise an SA's
   algorithms carry no key at all, and nothing can print one by mistake.
"""

from __future__ import annotations

import ipaddress
import struct

from socklab.errors import Malformed
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
from socklab.kernel import netlink

__all__ = ["decode_policy", "decode_sa", "encode_policy", "encode_policy_id", "encode_sa",
           "encode_sa_id"]

# <linux/xfrm.h>: message types
XFRM_MSG_NEWSA = 16
XFRM_MSG_DELSA = 17
XFRM_MSG_GETSA = 18
XFRM_MSG_NEWPOLICY = 19
XFRM_MSG_DELPOLICY = 20
XFRM_MSG_GETPOLICY = 21
# enum xfrm_attr_type_t
XFRMA_ALG_AUTH = 1
XFRMA_ALG_CRYPT = 2
XFRMA_ALG_COMP = 3
XFRMA_TMPL = 5
XFRMA_ALG_AEAD = 18
XFRMA_ALG_AUTH_TRUNC = 20
XFRMA_MARK = 21
XFRMA_IF_ID = 31

SELECTOR = struct.Struct("=16s16s2s2s2s2sHBBB3xiI")  # 56
LIFETIME_CFG = struct.Struct("=8Q")  # 64
LIFETIME_CUR = struct.Struct("=4Q")  # 32
POLICY_TAIL = struct.Struct("=IIBBBB4x")  # priority, index, dir, action, flags, share; 16
POLICY_INFO_SIZE = SELECTOR.size + LIFETIME_CFG.size + LIFETIME_CUR.size + POLICY_TAIL.size
USER_TMPL = struct.Struct("=16s4sB3xH2x16sIBBBxIII")  # 64
SA_ID = struct.Struct("=16s4sB3x")  # struct xfrm_id: 24
SA_TAIL = struct.Struct("=III" "IIHBBB7x")  # stats(3), seq, reqid, family, mode, rwin, flags
SA_INFO_SIZE = (SELECTOR.size + SA_ID.size + 16 + LIFETIME_CFG.size + LIFETIME_CUR.size
                + SA_TAIL.size)
ALGO = struct.Struct("=64sI")  # struct xfrm_algo: name, key length in bits
ALGO_EXTRA = struct.Struct("=64sII")  # xfrm_algo_auth (trunc_len), xfrm_algo_aead (icv_len)
MARK = struct.Struct("=II")
USERSA_ID = struct.Struct("=16s4sHBx")  # struct xfrm_usersa_id: 24
USERPOLICY_ID_TAIL = struct.Struct("=IB3x")  # after the selector: index, dir; 64 in all
U32 = struct.Struct("=I")

FAMILIES = {2: "inet", 10: "inet6"}
PROTOS = {50: "esp", 51: "ah", 108: "comp", 43: "route2", 60: "hao", 255: "any"}
MODES = {0: "transport", 1: "tunnel", 2: "ro", 3: "in_trigger", 4: "beet"}
DIRS = {0: "in", 1: "out", 2: "fwd"}
ACTIONS = {0: "allow", 1: "block"}
ALG_ATTRS = {XFRMA_ALG_AUTH: "auth", XFRMA_ALG_AUTH_TRUNC: "auth-trunc",
             XFRMA_ALG_CRYPT: "enc", XFRMA_ALG_AEAD: "aead", XFRMA_ALG_COMP: "comp"}
MAX_TEMPLATES = 64  # XFRM_MAX_DEPTH is 6: a bound, not the rule
MAX_KEY_BITS = 8 * 1024


def _name(table: dict[int, str], value: int) -> str:
    return table.get(value, str(value))


def _number(table: dict[int, str], text: str, what: str) -> int:
    for k, v in table.items():
        if v == text:
            return k
    if text.isdigit():
        return int(text)
    raise Malformed(f"xfrm: {what} {text!r}: unknown")


def address(raw: bytes, family: int) -> str:
    """An ``xfrm_address_t`` as text: IPv4 in its first 4 bytes for AF_INET."""
    if family == 2:
        return str(ipaddress.IPv4Address(raw[:4]))
    if family == 10:
        return str(ipaddress.IPv6Address(raw))
    # no family (a template may leave it 0): IPv4 when the rest is zero, as ip does
    return str(ipaddress.IPv4Address(raw[:4]) if not any(raw[4:]) else
               ipaddress.IPv6Address(raw))


def pack_address(text: str) -> bytes:
    packed = ipaddress.ip_address(text).packed
    return packed + b"\0" * (16 - len(packed))


def _be(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def selector(buf: bytes | memoryview, off: int) -> Selector:
    (daddr, saddr, dport, dmask, sport, smask, family, plen_d, plen_s, proto, ifindex,
     user) = SELECTOR.unpack_from(buf, off)
    return Selector(_name(FAMILIES, family), f"{address(saddr, family)}/{plen_s}",
                    f"{address(daddr, family)}/{plen_d}", proto, _be(sport), _be(smask),
                    _be(dport), _be(dmask), ifindex, user)


def _be16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def pack_selector(s: Selector) -> bytes:
    family = _number(FAMILIES, s.family, "family")
    src, plen_s = s.src.rsplit("/", 1)
    dst, plen_d = s.dst.rsplit("/", 1)
    return SELECTOR.pack(pack_address(dst), pack_address(src), _be16(s.dport),
                         _be16(s.dport_mask), _be16(s.sport), _be16(s.sport_mask), family,
                         int(plen_d), int(plen_s), s.proto, s.ifindex, s.user)


def _short(what: str, start: int, end: int, size: int) -> Malformed:
    return Malformed(f"xfrm {what} at offset {start}: {end - start} bytes, expected {size}")


def _template(buf: bytes | memoryview, off: int) -> Template:
    (daddr, spi, proto, family, saddr, reqid, mode, share, optional, aalgos, ealgos,
     calgos) = USER_TMPL.unpack_from(buf, off)
    return Template(_name(FAMILIES, family), address(saddr, family), address(daddr, family),
                    _name(PROTOS, proto), _be(spi), reqid, _name(MODES, mode), share,
                    bool(optional), aalgos, ealgos, calgos)


def _pack_template(t: Template) -> bytes:
    return USER_TMPL.pack(pack_address(t.dst), t.spi.to_bytes(4, "big"),
                          _number(PROTOS, t.proto, "protocol"),
                          _number(FAMILIES, t.family, "family"), pack_address(t.src),
                          t.reqid, _number(MODES, t.mode, "mode"), t.share, int(t.optional),
                          t.aalgos, t.ealgos, t.calgos)


def _mark_and_if_id(buf: bytes | memoryview, a: dict[int, tuple[int, int]]
                    ) -> tuple[tuple[int, int] | None, int | None]:
    mark = None
    if XFRMA_MARK in a:
        v, m = netlink.fixed(buf, a[XFRMA_MARK], MARK, "xfrm mark")
        mark = (int(v), int(m))
    if_id = int(netlink.fixed(buf, a[XFRMA_IF_ID], U32, "xfrm if_id")[0]) \
        if XFRMA_IF_ID in a else None
    return mark, if_id


def _pack_mark_and_if_id(mark: tuple[int, int] | None, if_id: int | None) -> bytes:
    out = b""
    if mark is not None:
        out += netlink.attr(XFRMA_MARK, MARK.pack(*mark))
    if if_id is not None:
        out += netlink.attr(XFRMA_IF_ID, U32.pack(if_id))
    return out


def decode_policy(buf: bytes | memoryview, start: int, end: int) -> Policy:
    """A policy from an ``XFRM_MSG_NEWPOLICY`` payload. Raises Malformed."""
    if end - start < POLICY_INFO_SIZE:
        raise _short("policy", start, end, POLICY_INFO_SIZE)
    sel = selector(buf, start)
    off = start + SELECTOR.size
    lft = Lifetime(*LIFETIME_CFG.unpack_from(buf, off))
    off += LIFETIME_CFG.size
    cur = Current(*LIFETIME_CUR.unpack_from(buf, off))
    off += LIFETIME_CUR.size
    priority, index, direction, action, flags, share = POLICY_TAIL.unpack_from(buf, off)
    a = netlink.attrs(buf, start + POLICY_INFO_SIZE, end)
    templates: list[Template] = []
    if XFRMA_TMPL in a:
        ts, te = a[XFRMA_TMPL]
        if (te - ts) % USER_TMPL.size:
            raise Malformed(f"xfrm policy templates at offset {ts - 4}: {te - ts} bytes, "
                            f"not a multiple of {USER_TMPL.size}")
        templates = [_template(buf, o) for o in range(ts, te, USER_TMPL.size)][:MAX_TEMPLATES]
    mark, if_id = _mark_and_if_id(buf, a)
    return Policy(sel, _name(DIRS, direction), _name(ACTIONS, action), priority, index,
                  flags, share, lft, cur, tuple(templates), mark, if_id)


def encode_policy(p: Policy) -> bytes:
    """The ``XFRM_MSG_NEWPOLICY`` payload ``ip xfrm policy add`` would send."""
    body = (pack_selector(p.selector) + LIFETIME_CFG.pack(*p.lifetime)
            + LIFETIME_CUR.pack(*p.current)
            + POLICY_TAIL.pack(p.priority, p.policy_index, _number(DIRS, p.dir, "direction"),
                               _number(ACTIONS, p.action, "action"), p.flags, p.share))
    if p.templates:
        body += netlink.attr(XFRMA_TMPL, b"".join(_pack_template(t) for t in p.templates))
    return body + _pack_mark_and_if_id(p.mark, p.if_id)


def _algorithm(buf: bytes | memoryview, atype: int, span: tuple[int, int],
               keys: bool) -> Algorithm:
    kind = ALG_ATTRS[atype]
    extra_layout = atype in (XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_AEAD)
    layout = ALGO_EXTRA if extra_layout else ALGO
    fields = netlink.fixed(buf, span, layout, f"xfrm {kind} algorithm")
    name = bytes(fields[0]).split(b"\0", 1)[0].decode(errors="replace")
    bits = int(fields[1])
    extra = int(fields[2]) if extra_layout else None
    nbytes = (bits + 7) // 8
    key_start = span[0] + layout.size
    if bits > MAX_KEY_BITS or key_start + nbytes > span[1]:
        raise Malformed(f"xfrm {kind} algorithm {name!r} at offset {span[0] - 4}: a key of "
                        f"{bits} bits does not fit in {span[1] - key_start} bytes")
    key = bytes(buf[key_start:key_start + nbytes]) if keys else None
    return Algorithm(kind, name, bits, extra, key)


def _pack_algorithm(alg: Algorithm) -> bytes:
    atype = next(k for k, v in ALG_ATTRS.items() if v == alg.kind)
    name = alg.name.encode()
    key = alg.key or b"\0" * ((alg.key_bits + 7) // 8)
    if alg.extra_bits is not None:
        head = ALGO_EXTRA.pack(name, alg.key_bits, alg.extra_bits)
    else:
        head = ALGO.pack(name, alg.key_bits)
    return netlink.attr(atype, head + key)


def decode_sa(buf: bytes | memoryview, start: int, end: int, keys: bool = False) -> SA:
    """An SA from an ``XFRM_MSG_NEWSA`` payload; keys only when ``keys`` (rule 3)."""
    if end - start < SA_INFO_SIZE:
        raise _short("SA", start, end, SA_INFO_SIZE)
    sel = selector(buf, start)
    off = start + SELECTOR.size
    daddr, spi, proto = SA_ID.unpack_from(buf, off)
    off += SA_ID.size
    saddr = bytes(buf[off:off + 16])
    off += 16
    lft = Lifetime(*LIFETIME_CFG.unpack_from(buf, off))
    off += LIFETIME_CFG.size
    cur = Current(*LIFETIME_CUR.unpack_from(buf, off))
    off += LIFETIME_CUR.size
    (st_rwin, st_replay, st_integrity, seq, reqid, family, mode, rwin,
     flags) = SA_TAIL.unpack_from(buf, off)
    a = netlink.attrs(buf, start + SA_INFO_SIZE, end)
    algorithms = tuple(_algorithm(buf, t, a[t], keys) for t in ALG_ATTRS if t in a)
    mark, if_id = _mark_and_if_id(buf, a)
    return SA(_name(FAMILIES, family), address(saddr, family), address(daddr, family),
              _name(PROTOS, proto), _be(spi), _name(MODES, mode), reqid, seq, rwin, flags,
              sel, lft, cur, Stats(st_rwin, st_replay, st_integrity), algorithms, mark, if_id)


def encode_sa(sa: SA) -> bytes:
    """The ``XFRM_MSG_NEWSA`` payload ``ip xfrm state add`` would send (a missing key
    is sent as zeros of its length)."""
    family = _number(FAMILIES, sa.family, "family")
    body = (pack_selector(sa.selector)
            + SA_ID.pack(pack_address(sa.dst), sa.spi.to_bytes(4, "big"),
                         _number(PROTOS, sa.proto, "protocol"))
            + pack_address(sa.src) + LIFETIME_CFG.pack(*sa.lifetime)
            + LIFETIME_CUR.pack(*sa.current)
            + SA_TAIL.pack(*sa.stats, sa.seq, sa.reqid, family,
                           _number(MODES, sa.mode, "mode"), sa.replay_window, sa.flags))
    body += b"".join(_pack_algorithm(alg) for alg in sa.algorithms)
    return body + _pack_mark_and_if_id(sa.mark, sa.if_id)


def encode_sa_id(sa: SA) -> bytes:
    """The ``XFRM_MSG_DELSA`` payload naming ``sa`` (destination, SPI, protocol)."""
    return USERSA_ID.pack(pack_address(sa.dst), sa.spi.to_bytes(4, "big"),
                          _number(FAMILIES, sa.family, "family"),
                          _number(PROTOS, sa.proto, "protocol"))


def encode_policy_id(p: Policy) -> bytes:
    """The ``XFRM_MSG_DELPOLICY`` payload naming ``p`` by selector and direction."""
    return pack_selector(p.selector) + USERPOLICY_ID_TAIL.pack(
        0, _number(DIRS, p.dir, "direction"))
