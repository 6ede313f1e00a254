"""--json: the fast row -> dict path gives exactly what the general conversion gives."""

import io
import json
from typing import NamedTuple

from socklab.cli import render
from socklab.socktable.model import SocketRecord
from socklab.stack.model import Link, LinkStats, Route


def _both(rows):
    out = io.StringIO()
    render.write_json(rows, out)
    return json.loads(out.getvalue()), [render.to_jsonable(r) for r in rows]


def test_routes_with_nexthops_and_links_with_counters_take_the_fast_path_unchanged():
    routes = [Route("inet", "main", "unicast", "10.0.0.0/8", 8, "10.0.0.1", "eth0", 2, None,
                    5, "static", "global", 0, ("onlink",), (("10.0.0.1", "eth0", 1),))]
    links = [Link(ifindex=1, name="lo", kind="loopback", flags=("UP",), ifflags=9,
                  operstate="UNKNOWN", mtu=65536, address="00:00:00:00:00:00",
                  broadcast=None, qdisc="noqueue", master=None, link=None,
                  link_netnsid=None, txqlen=1000, group=0, alias=None,
                  stats=LinkStats(rx_bytes=7, tx_packets=3))]
    for rows in (routes, links):
        fast, general = _both(rows)
        assert fast == json.loads(json.dumps(general))
    assert render.record_converter(Route) and render.record_converter(Link)
    assert fast[0]["stats"]["rx_bytes"] == 7  # an object, not an array


def test_a_record_with_a_field_json_cannot_take_goes_the_general_way():
    class Odd(NamedTuple):
        name: str
        raw: bytes

    assert render.record_converter(Odd) is None
    fast, general = _both([Odd("a", b"\x01\x02")])
    assert fast == general == [{"name": "a", "raw": "0102"}]
    assert render.record_converter(SocketRecord) is None  # owners are records in a tuple


def test_an_object_is_one_key_per_line_and_its_lists_one_item_per_line():
    class Reply(NamedTuple):
        seq: int
        rtt_ms: float

    class Summary(NamedTuple):
        host: str
        replies: list[Reply]
        empty: list[int]
        nested: dict[str, int]

    out = io.StringIO()
    render.write_json(Summary("h", [Reply(1, 0.5), Reply(2, 0.25)], [], {"a": 1}), out)
    text = out.getvalue()
    assert json.loads(text) == {"host": "h", "replies": [{"seq": 1, "rtt_ms": 0.5},
                                                         {"seq": 2, "rtt_ms": 0.25}],
                                "empty": [], "nested": {"a": 1}}
    assert text.splitlines()[3] == '    {"seq": 1, "rtt_ms": 0.5},'


def test_the_item_encoder_writes_what_json_dumps_writes():
    encode = render._item_encoder()
    values = [{"a": 1.5, "b": None, "c": [1, "x"], "d": {"e": True}}, "é\n\"", 1e300,
              float("nan"), [], {}, -0.0, 2**70]
    for value in values:
        assert encode(value) == json.dumps(value)


def test_a_tuple_of_records_of_one_class_takes_its_converter_and_mixed_ones_do_not():
    class A(NamedTuple):
        x: int

    class B(NamedTuple):
        y: str

    assert render.to_jsonable((A(1), A(2))) == [{"x": 1}, {"x": 2}]
    assert render.to_jsonable([A(1), B("b")]) == [{"x": 1}, {"y": "b"}]
    assert render.to_jsonable(((1, 2), A(3))) == [[1, 2], {"x": 3}]
