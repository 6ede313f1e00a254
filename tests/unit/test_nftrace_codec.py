"""The nftables trace decoder: events round-trip through the kernel's layout, random
bytes give events or Malformed only, and its numbers are the uapi headers' own."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import Malformed
from socklab.filter import nftrace
from socklab.kernel import netlink

names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=32)
u32 = st.integers(0, 2**32 - 1)
rule_verdicts = st.sampled_from(["drop", "accept", "continue", "jump", "goto", "return",
                                 "queue", "stolen"])


@st.composite
def events(draw):
    kind = draw(st.sampled_from(["rule", "policy", "return"]))
    verdict = draw(st.sampled_from(["accept", "drop"]) if kind == "policy" else rule_verdicts)
    return nftrace.TraceEvent(
        trace_id=draw(u32), family=draw(st.sampled_from(list(nftrace.FAMILIES.values()))),
        table=draw(names), chain=draw(names),
        handle=draw(st.none() | st.integers(1, 2**63)) if kind == "rule" else None,
        kind=kind, verdict=verdict,
        target=draw(names) if verdict in ("jump", "goto") else None,
        iif=draw(st.none() | u32), oif=draw(st.none() | u32), mark=draw(st.none() | u32))


@given(st.lists(events(), min_size=1, max_size=5))
def test_events_round_trip(evs):
    data = b"".join(nftrace.encode(e) for e in evs)
    assert nftrace.decode_chunk(data) == evs


@given(st.binary(max_size=300))
def test_random_bytes_give_events_or_malformed(data):
    with contextlib.suppress(Malformed):
        nftrace.decode_chunk(data)


@given(events(), st.data())
def test_cut_messages_give_malformed_not_anything_else(event, data):
    raw = nftrace.encode(event)
    cut = data.draw(st.integers(16, len(raw) - 1))
    body = raw[16:cut]
    msg = netlink.message(nftrace.TRACE_MSG, 0, body)
    with contextlib.suppress(Malformed):
        nftrace.decode_chunk(msg)


def test_queue_verdict_keeps_its_name():
    assert nftrace.verdict_name(3 | 5 << 16) == "queue"
    assert nftrace.verdict_name(-3) == "jump"
    assert nftrace.verdict_name(99) == "99"


HEADER_CHECK = r"""
#include <stdio.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
int main(void) {
  printf("NFNL_SUBSYS_NFTABLES %d\nNFNLGRP_NFTRACE %d\nNFT_MSG_TRACE %d\n",
         NFNL_SUBSYS_NFTABLES, NFNLGRP_NFTRACE, NFT_MSG_TRACE);
  printf("NFTA_TRACE_TABLE %d\nNFTA_TRACE_CHAIN %d\nNFTA_TRACE_RULE_HANDLE %d\n"
         "NFTA_TRACE_TYPE %d\nNFTA_TRACE_VERDICT %d\nNFTA_TRACE_ID %d\nNFTA_TRACE_IIF %d\n"
         "NFTA_TRACE_OIF %d\nNFTA_TRACE_MARK %d\nNFTA_TRACE_NFPROTO %d\nNFTA_TRACE_POLICY %d\n",
         NFTA_TRACE_TABLE, NFTA_TRACE_CHAIN, NFTA_TRACE_RULE_HANDLE, NFTA_TRACE_TYPE,
         NFTA_TRACE_VERDICT, NFTA_TRACE_ID, NFTA_TRACE_IIF, NFTA_TRACE_OIF, NFTA_TRACE_MARK,
         NFTA_TRACE_NFPROTO, NFTA_TRACE_POLICY);
  printf("NFTA_VERDICT_CODE %d\nNFTA_VERDICT_CHAIN %d\n", NFTA_VERDICT_CODE,
         NFTA_VERDICT_CHAIN);
  return 0;
}
"""


def test_numbers_are_the_headers(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("needs a C compiler and the kernel headers (make sysdeps)")
    src = tmp_path / "check.c"
    src.write_text(HEADER_CHECK)
    subprocess.run([cc, "-o", str(tmp_path / "check"), str(src)], check=True)
    out = subprocess.run([str(tmp_path / "check")], check=True, capture_output=True,
                         text=True).stdout
    values = dict(re.findall(r"^(\w+) (\d+)$", out, re.M))
    assert len(values) == 16
    for name, value in values.items():
        assert getattr(nftrace, name) == int(value), name
