"""Decode nftables trace events: the ``NFT_MSG_TRACE`` messages ``nft monitor trace`` reads.

A packet whose ``meta nftrace`` bit is set is reported by the kernel at every
rule that decided something for it (a verdict, ``continue`` included) and at
every base chain's policy, on the ``NFNLGRP_NFTRACE`` multicast group of
``NETLINK_NETFILTER`` (``<linux/netfilter/nf_tables.h>``, ``enum
nft_trace_attributes``; net/netfilter/nf_tables_trace.c). Pure functions:
bytes in, :class:`TraceEvent` out, :class:`~socklab.errors.Malformed` for what
cannot be read.

Layout: ``nlmsghdr``, ``nfgenmsg`` (family of the table, version, resource id),
then attributes; numbers are big-endian (network order), as nfnetlink sends them.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from socklab.errors import Malformed
from socklab.kernel import netlink

__all__ = ["NFNLGRP_NFTRACE", "TRACE_MSG", "TraceEvent", "decode", "decode_chunk"]

# <linux/netfilter/nfnetlink.h>
NFNL_SUBSYS_NFTABLES = 10
NFNLGRP_NFTRACE = 9
# <linux/netfilter/nf_tables.h>: enum nf_tables_msg_types
NFT_MSG_TRACE = 17
TRACE_MSG = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE

# enum nft_trace_attributes
NFTA_TRACE_TABLE = 1
NFTA_TRACE_CHAIN = 2
NFTA_TRACE_RULE_HANDLE = 3
NFTA_TRACE_TYPE = 4
NFTA_TRACE_VERDICT = 5
NFTA_TRACE_ID = 6
NFTA_TRACE_IIF = 10
NFTA_TRACE_OIF = 12
NFTA_TRACE_MARK = 14
NFTA_TRACE_NFPROTO = 15
NFTA_TRACE_POLICY = 16
# enum nft_verdict_attributes
NFTA_VERDICT_CODE = 1
NFTA_VERDICT_CHAIN = 2

# enum nft_trace_types
TRACE_TYPES = {1: "policy", 2: "return", 3: "rule"}
# NF_* (<linux/netfilter.h>) and NFT_* (enum nft_verdicts) verdict codes
VERDICTS = {0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat", 5: "stop",
            -1: "continue", -2: "break", -3: "jump", -4: "goto", -5: "return"}
# NFPROTO_* (<linux/netfilter.h>): the family of the table the event comes from
FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}

NFGENMSG = struct.Struct("!BBH")
U32 = struct.Struct("!I")
U64 = struct.Struct("!Q")
MAX_NAME = 256


class TraceEvent(NamedTuple):
    """One step of a traced packet: the chain it was in, the rule (None for a
    chain's policy) and the verdict there (``jump`` and ``goto`` name their target)."""

    trace_id: int
    family: str  # the table's
    table: str
    chain: str
    handle: int | None
    kind: str  # rule, policy, return
    verdict: str
    target: str | None
    iif: int | None
    oif: int | None
    mark: int | None

    @property
    def decides(self) -> bool:
        """A verdict that ends the packet's walk through this hook."""
        return self.verdict not in ("continue", "jump", "goto", "return", "break")


def _text(buf: bytes, span: tuple[int, int], what: str) -> str:
    raw = bytes(buf[span[0]:span[1]]).split(b"\0", 1)[0]
    if len(raw) > MAX_NAME:
        raise Malformed(f"nftables trace: {what} of {len(raw)} bytes")
    return raw.decode(errors="replace")


def _number(buf: bytes, span: tuple[int, int] | None, layout: struct.Struct,
            what: str) -> int | None:
    if span is None:
        return None
    return int(netlink.fixed(buf, span, layout, f"nftables trace {what}")[0])


def verdict_name(code: int) -> str:
    """The name of a verdict code; a queue verdict keeps its number in the high bits."""
    if code >= 0:
        return VERDICTS.get(code & 0xFF, str(code))
    return VERDICTS.get(code, str(code))


def decode(buf: bytes, start: int, end: int) -> TraceEvent:
    """The event in ``buf[start:end]`` (a message's payload). Raises Malformed."""
    if end - start < NFGENMSG.size:
        raise Malformed(f"nftables trace at offset {start}: {end - start} bytes, "
                        "shorter than its nfgenmsg header")
    family, _version, _res = NFGENMSG.unpack_from(buf, start)
    a = netlink.attrs(buf, start + NFGENMSG.size, end)
    for need, what in ((NFTA_TRACE_ID, "id"), (NFTA_TRACE_TYPE, "type")):
        if need not in a:
            raise Malformed(f"nftables trace at offset {start}: no {what} attribute")
    kind_code = _number(buf, a[NFTA_TRACE_TYPE], U32, "type") or 0
    verdict, target = "", None
    if NFTA_TRACE_VERDICT in a:
        vs, ve = a[NFTA_TRACE_VERDICT]
        v = netlink.attrs(buf, vs, ve)
        code = _number(buf, v.get(NFTA_VERDICT_CODE), U32, "verdict")
        if code is not None:
            verdict = verdict_name(code - (1 << 32) if code >= 1 << 31 else code)
        if NFTA_VERDICT_CHAIN in v:
            target = _text(buf, v[NFTA_VERDICT_CHAIN], "jump target")
    elif NFTA_TRACE_POLICY in a:
        verdict = verdict_name(_number(buf, a[NFTA_TRACE_POLICY], U32, "policy") or 0)
    return TraceEvent(
        trace_id=_number(buf, a[NFTA_TRACE_ID], U32, "id") or 0,
        family=FAMILIES.get(family, str(family)),
        table=_text(buf, a[NFTA_TRACE_TABLE], "table") if NFTA_TRACE_TABLE in a else "",
        chain=_text(buf, a[NFTA_TRACE_CHAIN], "chain") if NFTA_TRACE_CHAIN in a else "",
        handle=_number(buf, a.get(NFTA_TRACE_RULE_HANDLE), U64, "rule handle"),
        kind=TRACE_TYPES.get(kind_code, str(kind_code)),
        verdict=verdict, target=target,
        iif=_number(buf, a.get(NFTA_TRACE_IIF), U32, "iif"),
        oif=_number(buf, a.get(NFTA_TRACE_OIF), U32, "oif"),
        mark=_number(buf, a.get(NFTA_TRACE_MARK), U32, "mark"))


def decode_chunk(buf: bytes) -> list[TraceEvent]:
    """The trace events of one received datagram; other messages are skipped."""
    out = []
    for mtype, _flags, start, end in netlink.messages(buf):
        if mtype == TRACE_MSG:
            out.append(decode(buf, start, end))
    return out


def encode(event: TraceEvent) -> bytes:
    """The message the kernel would send for ``event`` (for tests of the decoder)."""
    fam = {v: k for k, v in FAMILIES.items()}.get(event.family, 0)
    kinds = {v: k for k, v in TRACE_TYPES.items()}
    codes = {v: k for k, v in VERDICTS.items()}
    body = NFGENMSG.pack(fam, 0, 0)
    body += netlink.attr(NFTA_TRACE_TABLE, event.table.encode() + b"\0")
    body += netlink.attr(NFTA_TRACE_CHAIN, event.chain.encode() + b"\0")
    if event.handle is not None:
        body += netlink.attr(NFTA_TRACE_RULE_HANDLE, U64.pack(event.handle))
    body += netlink.attr(NFTA_TRACE_TYPE, U32.pack(kinds[event.kind]))
    if event.kind == "policy":
        body += netlink.attr(NFTA_TRACE_POLICY, U32.pack(codes[event.verdict]))
    else:
        verdict = netlink.attr(NFTA_VERDICT_CODE, U32.pack(codes[event.verdict] & 0xFFFFFFFF))
        if event.target is not None:
            verdict += netlink.attr(NFTA_VERDICT_CHAIN, event.target.encode() + b"\0")
        body += netlink.attr(NFTA_TRACE_VERDICT | 0x8000, verdict)
    body += netlink.attr(NFTA_TRACE_ID, U32.pack(event.trace_id))
    for atype, value in ((NFTA_TRACE_IIF, event.iif), (NFTA_TRACE_OIF, event.oif),
                         (NFTA_TRACE_MARK, event.mark)):
        if value is not None:
            body += netlink.attr(atype, U32.pack(value))
    return netlink.message(TRACE_MSG, 0, body)
