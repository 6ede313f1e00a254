"""Route dumps decoded by layout: the socket table's fast path (``socktable/diag.py``)
applied to rtnetlink.

The kernel writes every route of a dump with the same code (``fib_dump_info()``,
``rt6_fill_node()``), so a table of a million routes holds a few message
layouts (lengths and attribute headers), repeated. Rules:

1. A layout is a ``struct`` built from the first message that has it, holding
   the netlink and ``rtmsg`` headers, each attribute's header and the values
   the :class:`~socklab.stack.model.Route` keeps. Each message is read with
   one ``unpack_from`` of the layout the last message of its length had; its
   attribute headers must equal the layout's, else the layouts made for that
   length are tried, then a new one is made. (Runs of one layout read with
   ``iter_unpack`` broke every few routes where metrics alternate with none:
   a metric of 0 has no RTA_PRIORITY.)
2. A message the layouts do not cover (a multipath route, an address of
   another size, an attribute that runs past its message, a length that cannot
   be followed) is decoded by :func:`socklab.stack.rtnl.decode_route`, one
   message at a time, which also says what is malformed in it.
3. Each layout gets its own ``row(t)`` function, its text generated from the
   layout's tuple indices only (:func:`_row_source`): a route costs one call
   and no test of which attributes its layout holds.
4. Text is made once per distinct value: gateways and source addresses,
   devices, tables, protocols, scopes and types come from small caches.
5. Every route equals what :func:`~socklab.stack.rtnl.decode_route` makes of
   the same message (tests/netns/test_route_runs.py compares them).
"""

# No "from __future__ import annotations": _Layout (a NamedTuple) would compile its
# annotations at import (docs/design.md, "Start-up and PYTHONDONTWRITEBYTECODE").

import socket
import struct
from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

from socklab.kernel.netlink import NLATTR, NLMSGHDR, bad_length, control
from socklab.stack import rtnl
from socklab.stack.model import Route

__all__ = ["route_chunk_decoder", "route_row"]

ChunkDecoder = Callable[[memoryview, int], tuple[list[Any], bool]]  # Routes, or rows

# where a layout puts each value in its tuples (-1: the messages of the run lack it)
_DST, _GATEWAY, _PREFSRC, _OIF, _PRIORITY, _TABLE, _EXPIRES = range(7)
_ADDRESSES = {rtnl.RTA_DST: _DST, rtnl.RTA_GATEWAY: _GATEWAY, rtnl.RTA_PREFSRC: _PREFSRC}
_WORDS = {rtnl.RTA_OIF: _OIF, rtnl.RTA_PRIORITY: _PRIORITY, rtnl.RTA_TABLE: _TABLE}
# nlmsghdr (len, type; flags, seq, pid skipped) and rtmsg (src_len skipped):
# 0 len, 1 type, 2 family, 3 dst_len, 4 tos, 5 table, 6 protocol, 7 scope, 8 type, 9 flags
_HEAD = "=IH10xBBxBBBBBI"
_HEAD_FIELDS = 10
_RTMSG_END = NLMSGHDR.size + rtnl.RTMSG.size
_HEADER = struct.Struct("=I")  # an attribute's length and type, compared as one number
_SIZE_TYPE = struct.Struct("=IH")  # a netlink message's length and type


class _Layout(NamedTuple):
    unpack: struct.Struct
    heads: Callable[[tuple[Any, ...]], Any]  # the attribute headers of a tuple
    signature: tuple[int, ...]  # what heads() gives for a message of this run
    where: tuple[int, ...]  # tuple index of each value (_DST ...), -1 when absent
    dst_size: int  # bytes of RTA_DST (4 or 16), 0 when absent


def _signature(buf: memoryview, off: int, end: int) -> tuple[int, ...] | None:
    """The attribute headers of the message at ``buf[off:end]`` (``off`` past its
    rtmsg), each read as one native u32 (length and type), or None when one cannot
    be stepped over."""
    out: list[int] = []
    unpack = NLATTR.unpack_from
    while off < end:
        if end - off < 4:
            return None
        length, _atype = unpack(buf, off)
        if length < 4 or off + ((length + 3) & ~3) > end:
            return None
        out.append(_HEADER.unpack_from(buf, off)[0])
        off += (length + 3) & ~3
    return tuple(out)


def _layout(size: int, signature: tuple[int, ...]) -> _Layout | None:
    """The run layout of messages of ``size`` bytes with these attribute headers,
    or None when :func:`rtnl.decode_route` must read them (rule 2)."""
    fmt = [_HEAD]
    index = _HEAD_FIELDS
    heads: list[int] = []
    where = [-1] * 7
    dst_size = 0
    for header in signature:
        length, atype = NLATTR.unpack(_HEADER.pack(header))
        atype &= 0x3FFF  # NLA_TYPE_MASK
        body, pad = length - 4, ((length + 3) & ~3) - length
        fmt.append("I")
        heads.append(index)
        index += 1
        if atype in _ADDRESSES:
            if body not in (4, 16) or where[_ADDRESSES[atype]] >= 0:
                return None
            fmt.append(f"{body}s")
            where[_ADDRESSES[atype]] = index
            if atype == rtnl.RTA_DST:
                dst_size = body
            index += 1
        elif atype in _WORDS:
            if body != 4 or where[_WORDS[atype]] >= 0:
                return None
            fmt.append("I")
            where[_WORDS[atype]] = index
            index += 1
        elif atype == rtnl.RTA_MULTIPATH:
            return None
        elif atype == rtnl.RTA_CACHEINFO and body >= 12:
            if where[_EXPIRES] >= 0:
                return None
            fmt.append(f"8xi{body - 12}x")  # rta_cacheinfo.rta_expires, at offset 8
            where[_EXPIRES] = index
            index += 1
        elif body:
            fmt.append(f"{body}x")
        if pad:
            fmt.append(f"{pad}x")
    unpack = struct.Struct("".join(fmt))
    if unpack.size != size or len(heads) < 2:  # itemgetter of one: no tuple
        return None
    return _Layout(unpack, itemgetter(*heads), signature, tuple(where), dst_size)


def route_row(r: Route) -> tuple[Any, ...]:
    """The plain table's row of a route: table, type, destination, gateway, device,
    source, metric, protocol, scope; "-" for what it lacks (``socklab route``)."""
    return (r.table, r.type, r.dst, "-" if r.gateway is None else r.gateway,
            "-" if r.dev is None else r.dev, "-" if r.prefsrc is None else r.prefsrc,
            r.metric, r.protocol, r.scope)


def _same(value: object) -> object:
    return value


def _contains(route: Route, address: str) -> bool:
    import ipaddress

    from socklab.stack.lookup import prefix_of

    ip = ipaddress.ip_address(address)
    if route.family != ("inet" if ip.version == 4 else "inet6") or route.dst.startswith("?"):
        return False
    return ip in prefix_of(route)


def _row_source(where: tuple[int, ...], v4_dst: bool, mode: str) -> str:
    """The source of ``row(t)``: a layout's tuple -> its Route, its plain table row
    (``mode`` "rows") or its JSON text ("json"), with the layout's indices written
    in and the attributes it lacks as constants, so that a route costs one call
    and no test of what its layout holds. Only integers from :func:`_layout` go
    into the text (no value from a message)."""
    i_dst, i_gw, i_src, i_oif, i_prio, i_table, i_exp = (int(i) for i in where)
    absent = {"rows": '"-"', "json": '"null"'}.get(mode, "None")
    lines = ["def row(t):", "    w = known(t[2:10]) or header(t[2:10])"]
    if i_dst >= 0:
        # "/len" from a list made once (a host route, /32 or /128, has none)
        lines.append(f"    d = {'ntoa' if v4_dst else 'ntop6'}(t[{i_dst}]) + "
                     "(suffix4 if t[2] == af_inet else suffix6)[t[3]]")
    else:
        lines.append("    d = 'default' if t[3] == 0 else f'?/{t[3]}'")
    tab = f"(tables_get(t[{i_table}]) or table(t[{i_table}]))" if i_table >= 0 else "w[1]"
    gw = f"(text_get(t[{i_gw}]) or address(t[{i_gw}]))" if i_gw >= 0 else absent
    src = f"(text_get(t[{i_src}]) or address(t[{i_src}]))" if i_src >= 0 else absent
    dev = f"(dev_get(t[{i_oif}]) or dev(t[{i_oif}]))" if i_oif >= 0 else absent
    metric = f"t[{i_prio}]" if i_prio >= 0 else "0"
    oif = f"t[{i_oif}]" if i_oif >= 0 else absent
    expires = f"(t[{i_exp}] // hz if t[{i_exp}] else {absent})" if i_exp >= 0 else absent
    if mode == "rows":
        lines.append(f"    return ({tab}, w[2], d, {gw}, {dev}, {src}, {metric}, w[3], w[4])")
    elif mode == "json":  # an address's text needs no JSON escape: quoted as it is
        lines.append(f"    return template % (w[0], {tab}, w[2], '\"' + d + '\"', t[3], {gw}, "
                     f"{dev}, {oif}, {src}, {metric}, w[3], w[4], t[4], w[5], '[]', {expires})")
    else:
        lines.append(f"    return new(Route, (w[0], {tab}, w[2], d, t[3], {gw}, {dev}, {oif}, "
                     f"{src}, {metric}, w[3], w[4], t[4], w[5], (), {expires}))")
    return "\n".join(lines)


def route_chunk_decoder(ifnames: dict[int, str], tables: dict[int, str] | None = None,
                        as_rows: bool = False, containing: str | None = None,
                        encode: Callable[[object], str] | None = None) -> ChunkDecoder:
    """A chunk decoder (for :meth:`NetlinkSocket.dump_chunks`) of an ``RTM_GETROUTE``
    dump into :class:`Route` records, by layout (module rules).

    ``as_rows``: the plain table's rows instead (:func:`route_row`), with no
    record in between. ``encode`` (a JSON encoder of one value): each route's JSON
    object as text instead, the bytes ``encode`` makes of its record as a dict,
    each distinct table, type, gateway, device ... encoded once. ``containing``:
    only the routes whose prefix contains this address (``route get``'s
    candidates), the others skipped on their raw bytes before any text is made."""
    mode = "json" if encode is not None else "rows" if as_rows else "records"
    j: Callable[[Any], Any] = encode if encode is not None else _same
    want_family, want, want_bits = 0, 0, 0
    if containing is not None:
        raw_want = socket.inet_pton(socket.AF_INET6 if ":" in containing else socket.AF_INET,
                                    containing)
        want_family = socket.AF_INET if len(raw_want) == 4 else socket.AF_INET6
        want, want_bits = int.from_bytes(raw_want, "big"), len(raw_want) * 8
    from_bytes = int.from_bytes
    headers: dict[tuple[int, ...], tuple[Any, ...]] = {}
    by_size: dict[int, list[_Layout]] = {}  # the layouts made, by message length
    layouts: dict[tuple[int, tuple[int, ...]], _Layout | None] = {}
    text: dict[bytes, str] = {}  # gateway and source addresses (4 or 16 bytes: the family)
    devs: dict[int, str] = {}
    table_names: dict[int, str] = {}
    new, ntop = tuple.__new__, socket.inet_ntop
    af_inet, af_inet6 = socket.AF_INET, socket.AF_INET6
    families, types, n_types = rtnl.FAMILIES, rtnl.ROUTE_TYPES, len(rtnl.ROUTE_TYPES)
    protocols, scopes = rtnl.PROTOCOLS, rtnl.SCOPES
    newroute = rtnl.RTM_NEWROUTE

    def address(raw: bytes) -> str:
        s = text.get(raw)
        if s is None:
            s = text[raw] = j(ntop(af_inet if len(raw) == 4 else af_inet6, raw))
        return s

    def dev(oif: int) -> str:
        s = devs.get(oif)
        if s is None:
            s = devs[oif] = j(ifnames.get(oif) or str(oif))
        return s

    def table(number: int) -> str:
        s = table_names.get(number)
        if s is None:
            s = table_names[number] = j(rtnl.table_name(number, tables))
        return s

    def header(key: tuple[int, ...]) -> tuple[Any, ...]:
        """The rtmsg's words, made once per distinct header: (family, table, type,
        protocol, scope, flags) as the Route has them."""
        family, _dst_len, _tos, number, protocol, scope, rtype, flags = key
        words = (j(families.get(family) or str(family)), table(number),
                 j(types[rtype] if rtype < n_types else str(rtype)),
                 j(protocols.get(protocol) or str(protocol)), j(scopes.get(scope) or str(scope)),
                 j(tuple(name for bit, name in ((0x1, "dead"), (0x4, "onlink"),
                                                (0x10, "linkdown")) if flags & bit)))
        headers[key] = words
        return words

    namespace: dict[str, object] = {
        "known": headers.get, "header": header, "ntoa": socket.inet_ntoa,
        "ntop6": partial(ntop, af_inet6), "af_inet": af_inet,
        "tables_get": table_names.get, "table": table, "text_get": text.get,
        "address": address, "dev_get": devs.get, "dev": dev, "new": new, "Route": Route,
        "hz": rtnl.USER_HZ,
        "suffix4": [f"/{n}" if n != 32 else "" for n in range(256)],  # rtm_dst_len is a u8
        "suffix6": [f"/{n}" if n != 128 else "" for n in range(256)],
        "template": "{" + ", ".join(f'"{name}": %s' for name in Route._fields) + "}"}
    rows: dict[tuple[int, tuple[int, ...]], Callable[[tuple[object, ...]], object]] = {}

    def row_of(lay: _Layout) -> Callable[[tuple[object, ...]], object]:
        key = (lay.unpack.size, lay.signature)
        fn = rows.get(key)
        if fn is None:
            scope = dict(namespace)
            exec(_row_source(lay.where, lay.dst_size == 4, mode), scope)
            made = scope["row"]
            assert callable(made)
            fn = rows[key] = made
        return fn

    def wanted(t: tuple[Any, ...], i_dst: int) -> bool:
        """Is the route of this tuple a candidate of route get (its prefix holds
        ``containing``)? Read on the raw bytes, before any text is made."""
        dst_len = t[3]
        return not (t[2] != want_family or dst_len > want_bits or (
            dst_len and (i_dst < 0 or (from_bytes(t[i_dst], "big") ^ want)
                         >> (want_bits - dst_len))))

    def find(buf: memoryview, off: int, size: int) -> _Layout | None:
        """The layout of the message at ``off``: one made before for its length, else
        made from its attribute headers; None when decode_route must read it."""
        for known_layout in by_size.get(size, ()):
            t = known_layout.unpack.unpack_from(buf, off)
            if known_layout.heads(t) == known_layout.signature:
                return known_layout
        if size & 3 or size < _RTMSG_END:
            return None
        signature = _signature(buf, off + _RTMSG_END, off + size)
        if signature is None:
            return None
        key = (size, signature)
        if key not in layouts:
            made = layouts[key] = _layout(size, signature)
            if made is not None:
                by_size.setdefault(size, []).append(made)
        return layouts[key]

    recent: dict[int, tuple[_Layout, Callable[[tuple[object, ...]], object]]] = {}  # by length

    def decode_chunk(buf: memoryview, n: int) -> tuple[list[Any], bool]:
        out: list[Any] = []
        append = out.append
        off = 0
        unpack_head = _SIZE_TYPE.unpack_from
        while off + NLMSGHDR.size <= n:  # as netlink.messages(): a shorter tail is ignored
            size, mtype = unpack_head(buf, off)
            if size < NLMSGHDR.size or off + size > n:
                raise bad_length(off, size, n)
            step = (size + 3) & ~3
            if mtype != newroute:
                if control(buf, mtype, off + NLMSGHDR.size, off + size):
                    return out, True
                off += step
                continue
            entry = recent.get(size)  # the layout the last message of this length had
            if entry is not None:
                last, row = entry
                t = last.unpack.unpack_from(buf, off)
                if last.heads(t) == last.signature:
                    if not want_bits or wanted(t, last.where[_DST]):
                        append(row(t))
                    off += step
                    continue
            lay = find(buf, off, size)
            if lay is None:  # rule 2
                route = rtnl.decode_route(buf, off + NLMSGHDR.size, off + size, ifnames, tables)
                if containing is None or _contains(route, containing):
                    append(j(route._asdict()) if encode is not None else
                           route_row(route) if as_rows else route)
            else:
                row = row_of(lay)
                recent[size] = (lay, row)
                t = lay.unpack.unpack_from(buf, off)
                if not want_bits or wanted(t, lay.where[_DST]):
                    append(row(t))
            off += step
        return out, False

    return decode_chunk
