"""The streamed table and JSON writers print the same bytes as the held-list ones."""

from __future__ import annotations

import io
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st
from test_classic_views import routes

from socklab.cli import render, stackview
from socklab.stack import route_runs
from socklab.stack.model import Link, LinkStats

WORD = st.text(st.sampled_from("ab-:.²x0"), min_size=1, max_size=12)  # no whitespace


@settings(max_examples=200, deadline=None)
@given(st.lists(routes(), max_size=30), st.integers(1, 8), st.sampled_from([0, 200, 10**9]),
       st.sampled_from([0, 3, 4096]))
def test_stream_table_and_json_equal_held(found, batch, spill_after, cache):
    """Also with the text spilled to a file from the start, or part way, and with
    JSON fields past the encoder's cache (each value encoded directly)."""
    held = io.StringIO()
    for line in render.table(found,
                             stackview.ROUTE_COLUMNS, width=10**6):
        held.write(line + "\n")
    streamed = io.StringIO()
    render.stream_table(map(route_runs.route_row, found), stackview.ROUTE_COLUMNS, streamed,
                        batch, spill_after)
    assert streamed.getvalue() == held.getvalue()
    js, js_streamed = io.StringIO(), io.StringIO()
    render.write_json(found, js)
    kept, render._FLAT_CACHE = render._FLAT_CACHE, cache
    try:
        render.write_json_stream(iter(found), js_streamed, batch)
    finally:
        render._FLAT_CACHE = kept
    assert js_streamed.getvalue() == js.getvalue()


class Mixed(NamedTuple):
    n: int
    flag: bool


def test_flat_encoder_refuses_bools():
    """1 == True: a shared cache would print one for the other."""
    assert render._flat_encoder(Mixed, str) is None
    out = io.StringIO()
    render.write_json_stream(iter([Mixed(1, True), Mixed(True, False)]), out)
    assert out.getvalue() == '[\n  {"n": 1, "flag": true},\n  {"n": true, "flag": false}\n]\n'


CELL = st.text(st.sampled_from("ab \t\0-²"), max_size=6)  # empty, spaced, NUL cells too


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL, CELL, CELL, st.integers(0, 10**6), CELL,
                          CELL), max_size=20), st.integers(1, 8), st.sampled_from([0, 10**9]))
def test_stream_table_equals_table_whatever_the_cells(rows, batch, spill_after):
    """Cells with whitespace, NUL or nothing in them: still table()'s bytes (a batch
    with a NUL keeps its rows; a line ending in whitespace is stripped as table's)."""
    keys = [c.key for c in stackview.ROUTE_COLUMNS]
    held = "".join(line + "\n" for line in render.table(
        [dict(zip(keys, row, strict=True)) for row in rows], stackview.ROUTE_COLUMNS,
        width=10**6))
    streamed = io.StringIO()
    render.stream_table(iter(rows), stackview.ROUTE_COLUMNS, streamed, batch, spill_after)
    assert streamed.getvalue() == held


def links() -> st.SearchStrategy[Link]:
    text = st.text(st.sampled_from("ab\"\\é\0x0"), max_size=8)
    maybe = st.none() | text
    number = st.integers(0, 2**64 - 1)
    return st.builds(
        Link, st.integers(0, 5), text, text, st.lists(text, max_size=3).map(tuple),
        st.integers(0, 2**32 - 1), text, st.integers(0, 9), maybe, maybe, maybe,
        st.none() | st.integers(0, 9), st.none() | st.integers(0, 9),
        st.none() | st.integers(-1, 3), st.none() | st.integers(0, 9), st.integers(0, 3), maybe,
        st.lists(number, min_size=23, max_size=23).map(LinkStats._make),
        st.none() | st.integers(0, 772), maybe, maybe,
        st.none() | st.tuples(number, number, number, st.integers(0, 9), st.integers(0, 9)))


@settings(max_examples=200, deadline=None)
@given(st.lists(links(), max_size=20), st.integers(1, 8), st.sampled_from([0, 3, 4096]))
def test_links_json_streamed_equal_held(found, batch, cache):
    """Links (nested counters, flag tuples, a tuple or None for the map) through the
    field-at-a-time encoder: the bytes of write_json, also past the caches."""
    js, js_streamed = io.StringIO(), io.StringIO()
    render.write_json(found, js)
    kept, render._FLAT_CACHE = render._FLAT_CACHE, cache
    try:
        render.write_json_stream(iter(found), js_streamed, batch)
    finally:
        render._FLAT_CACHE = kept
    assert js_streamed.getvalue() == js.getvalue()
    assert not found or render._flat[Link] is not None  # the field-at-a-time path was taken
