"""The route dump decoded in runs, the streamed table and JSON, and the kernel's table
filter: each equal to the one-message decoder and to the held-list views."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from socklab.cli import render, stackview
from socklab.kernel import netlink
from socklab.stack import lookup, read, route_runs, rtnl

pytestmark = pytest.mark.privileged

# every layout rule 2 of route_runs names, and runs broken by metric and source
SETUP = [
    "link add a0 type veth peer name b0", "link set a0 up", "link set b0 up",
    "addr add 10.1.0.1/24 dev a0", "addr add 2001:db8:1::1/64 dev a0 nodad",
    "route add 10.50.0.0/16 via 10.1.0.254 metric 10",
    "route add 10.51.0.0/16 via 10.1.0.253",
    "route add 10.52.0.0/16 via 10.1.0.252 src 10.1.0.1",
    "route add 10.53.0.0/16 nexthop via 10.1.0.250 nexthop via 10.1.0.251",
    "route add blackhole 10.66.0.0/16", "route add unreachable 10.67.0.0/16",
    "route add 10.54.0.0/16 via 10.9.0.254 dev a0 onlink",
    "route add 10.90.0.0/16 via 10.1.0.9 table 100",
    "route add 10.91.0.0/16 dev a0 table 70000 metric 7",
    "route add 2001:db8:99::/48 via 2001:db8:1::fe",
    "route add 2001:db8:98::/48 via 2001:db8:1::fd expires 600",
    "route add 2001:db8:97::/48 via 2001:db8:1::fc table 100",
    "rule add to 10.90.0.0/16 lookup 100 pref 1000",
    "rule add to 10.92.0.0/16 lookup 4242 pref 1100",  # a table that does not exist
    # less specific routes, one prefix at two metrics, a covering blackhole, IPv6 ones
    "route add 10.0.0.0/8 via 10.1.0.7", "route add default via 10.1.0.254 metric 50",
    "route add 10.102.0.0/16 via 10.1.0.8 metric 5",
    "route add 10.102.0.0/16 via 10.1.0.9 metric 9",
    "route add blackhole 10.103.0.0/17", "route add unreachable 10.104.0.0/16 metric 3",
    "route add 2001:db8::/32 via 2001:db8:1::fb", "route add ::/0 via 2001:db8:1::fa",
    *[f"route add 10.{100 + i // 200}.{i % 200}.0/24 via 10.1.0.{2 + i % 9} metric {i % 3}"
      for i in range(2000)],
]


@pytest.fixture(scope="module")
def lab():
    from conftest import make_netns

    with make_netns("runs") as ns:
        subprocess.run(["ip", "-n", ns.name, "-batch", "-"], input="\n".join(SETUP),
                       text=True, check=True)
        ns.ip("-6", "rule", "add", "to", "2001:db8:97::/48", "lookup", "100", "pref", "1000")
        yield ns


def _both(family: int = 0) -> tuple[list[object], list[object], list[object]]:
    with read._open(None) as nl:
        names = read._ifnames(nl)
        tables: dict[int, str] = {}
        fast = list(nl.dump_chunks(rtnl.RTM_GETROUTE, rtnl.route_request(family),
                                   route_runs.route_chunk_decoder(names, tables)))
        rows = list(nl.dump_chunks(rtnl.RTM_GETROUTE, rtnl.route_request(family),
                                   route_runs.route_chunk_decoder(names, tables, True)))
        slow = [rtnl.decode_route(buf, s, e, names, tables) for buf, _t, s, e in
                nl.dump(rtnl.RTM_GETROUTE, rtnl.route_request(family))]
    return fast, rows, slow


def test_runs_equal_one_by_one(lab):
    fast, rows, slow = lab.run(_both)
    assert len(slow) > 2000
    assert fast == slow
    assert rows == [route_runs.route_row(r) for r in slow]
    kinds = {(r.type, bool(r.nexthops), bool(r.prefsrc), r.expires is not None, r.flags)
             for r in slow}
    assert ("unicast", True, False, False, ()) in kinds  # multipath: one by one
    assert ("unicast", False, False, True, ()) in kinds  # IPv6 with expires
    assert ("unicast", False, False, False, ("onlink",)) in kinds
    assert ("blackhole", False, False, False, ()) in kinds


@pytest.mark.parametrize("batch", [1, 7, 4096])
def test_streamed_table_and_json_equal_held(lab, batch):
    def views() -> tuple[str, str, str, str]:
        held = list(read.routes())
        table = "\n".join(render.table(held, stackview.ROUTE_COLUMNS)) + "\n"
        out, js, out2 = io.StringIO(), io.StringIO(), io.StringIO()
        render.stream_table(read.route_rows(), stackview.ROUTE_COLUMNS, out, batch)
        render.write_json(held, js)
        render.write_json_stream(iter(held), out2, batch)  # a route's expiry runs on
        texts = io.StringIO()
        render.write_json_texts(read.route_json(encode=render.json_item_encoder()), texts,
                                batch)
        def steady(text: str) -> str:  # a second dump: the expiring route's clock ran on
            return re.sub(r'"expires": \d+', '"expires": N', text)

        assert steady(texts.getvalue()) == steady(out2.getvalue())
        return table, out.getvalue(), js.getvalue(), out2.getvalue()

    table, streamed, js, js_streamed = lab.run(views)
    assert "2001:db8:98::/48" in table
    assert streamed == table
    assert js_streamed == js
    empty = io.StringIO()
    render.write_json_stream(iter([]), empty)
    assert empty.getvalue() == "[]\n"


@pytest.mark.parametrize("table,family", [("100", None), ("70000", None), ("main", "inet6"),
                                          ("local", "inet"), ("4242", None), ("4242", "inet")])
def test_kernel_table_filter_equals_python_filter(lab, table, family):
    def both() -> tuple[list[object], list[object]]:
        every = [r for r in read.routes(family=family)
                 if r.table == read._table_word(table, {})]
        return every, list(read.routes(table, family))

    every, filtered = lab.run(both)
    assert filtered == every
    if table in ("100", "70000"):
        assert filtered  # the table exists: the filter kept its routes


def test_kernel_filters_the_table(lab):
    """With strict checking the kernel sends only the table asked for."""
    def count(number: int) -> int:
        with read._open(None) as nl:
            assert nl.enable_strict_check()
            return sum(1 for _ in nl.dump(rtnl.RTM_GETROUTE, rtnl.route_request(0, number)))

    assert lab.run(count, 100) == 2  # 10.90.0.0/16 and 2001:db8:97::/48
    assert lab.run(count, 70000) == 1
    assert netlink.NETLINK_GET_STRICT_CHK == 12


@pytest.mark.parametrize("dst", ["10.50.1.1", "10.90.3.4", "10.92.0.1", "10.101.7.9", "10.1.0.7",
                                 "10.53.0.1", "10.66.1.1", "8.8.8.8", "127.0.0.1",
                                 "2001:db8:97::1", "2001:db8:99::5", "::1", "2001:db8:1::9"])
def test_route_get_reads_only_candidates_and_explains_the_same(lab, dst):
    """route get dumps only the rules' tables and keeps only the prefixes that contain
    the destination: the explanation equals the walk over every route."""
    def both() -> tuple[lookup.Explanation, lookup.Explanation]:
        fast = read.explain_route(dst, probe_after=None)
        kernel = read.route_get(dst)
        full = lookup.explain(kernel.dst, read.rules(), list(read.routes()),
                              list(read.addresses()), list(read.neighbours(all_states=True)),
                              kernel)
        return fast, full

    fast, full = lab.run(both)
    assert fast == full
    assert fast.agrees is not False


PROBED = ["10.50.1.1", "10.90.3.4", "10.92.0.1", "10.101.7.9", "10.102.7.9", "10.102.250.9",
          "10.103.1.9", "10.104.1.9", "10.105.250.1", "10.1.0.7", "10.53.0.1", "10.66.1.1",
          "8.8.8.8", "127.0.0.1", "10.1.0.1", "2001:db8:97::1", "2001:db8:99::5", "2001:db8:5::1",
          "2001:db8:1::9", "2001:db9::1", "::1"]


@pytest.mark.parametrize("dst", PROBED)
def test_route_get_by_kernel_lookups_explains_the_same_or_says_what_it_missed(lab, dst):
    """With every winning table asked of the kernel (probe_after=0, as a table of a
    million routes is): the same walk, winner, source and next hop as over every
    route; the candidates a subset, in order, and each one left out is of a prefix
    length found_by names as not seen, or shares its prefix with a shown one of a
    lower metric (a lookup sees one route per prefix)."""
    def both() -> tuple[lookup.Explanation, lookup.Explanation]:
        fast = read.explain_route(dst, probe_after=0)
        kernel = read.route_get(dst)
        full = lookup.explain(kernel.dst, read.rules(), list(read.routes()),
                              list(read.addresses()), list(read.neighbours(all_states=True)),
                              kernel)
        return fast, full

    fast, full = lab.run(both)
    if full.winner is None or full.error:  # the kernel names no route: every one was read
        assert fast == full
        return
    assert fast.found_by is not None and fast.probes is not None
    same = ("dst", "rules", "table", "winner", "error", "source", "source_why", "next_hop",
            "neighbour", "kernel", "agrees", "caveats", "special")
    assert [getattr(fast, k) for k in same] == [getattr(full, k) for k in same]
    assert [c for c in full.candidates if c in fast.candidates] == fast.candidates
    shown = {c.prefix: c.metric for c in fast.candidates}
    unseen = fast.found_by.partition("prefix lengths ")[2].partition(" were not seen")[0]
    not_seen = set()
    for span in filter(None, unseen.split(", ")):
        low, _, high = span.partition("-")
        not_seen.update(range(int(low[1:]), int((high or low)[1:]) + 1))
    for c in full.candidates:
        if c not in fast.candidates:
            assert c.prefixlen in not_seen or shown.get(c.prefix, c.metric) < c.metric, c
    if fast.candidates == full.candidates:
        assert fast.why == full.why


def test_route_get_probes_find_the_less_specific_routes(lab):
    """10.102.250.9 (no /24 there): the /16 (the lower of two metrics), the /8 and the
    default are each found by one lookup, nothing is hidden; the /16 at metric 9 is
    what a lookup cannot see, and the explanation says it shows one route a prefix."""
    ex = lab.run(read.explain_route, "10.102.250.9", probe_after=0)
    assert [(c.prefix, c.metric) for c in ex.candidates] == [
        ("10.102.0.0/16", 5), ("10.0.0.0/8", 0), ("0.0.0.0/0", 50)]
    assert ex.found_by is not None and "not seen" not in ex.found_by
    assert "only the route the kernel picks" in ex.found_by
    assert [p.split(": ")[1] for p in ex.probes] == ["10.0.0.0/8, a candidate",
                                                      "default, a candidate"]
