"""The only module that formats: aligned tables and JSON from the same rows.

A command builds rows (dataclasses or dicts) once; :func:`emit` prints them as
JSON when ``--json`` was given and as a table otherwise (iproute2 prints both
through one call). Tables fit the terminal: when too wide, the widest
shrinkable column is cut with an ellipsis.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import enum
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TextIO

__all__ = ["Column", "emit", "stream_table", "table", "terminal_columns", "to_jsonable",
           "write_json", "write_json_stream"]


class Column(NamedTuple):
    """A table column: the row key, its header, alignment and whether it may be cut."""

    key: str
    header: str
    right: bool = False
    shrink: bool = False


_SCALARS = (str, int, float, bool, type(None))


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from models: NamedTuple records, dataclasses, records with an
    ``_asdict()``, enums, addresses, bytes. Scalars return at once (this runs for every field)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, tuple):
        as_dict = getattr(value, "_asdict", None)
        if as_dict is not None:  # a NamedTuple record
            return {k: v if type(v) in _SCALARS else to_jsonable(v)
                    for k, v in as_dict().items()}
        return _items(value)
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in fields}
    as_dict = getattr(value, "_asdict", None)  # a record that is no tuple (Explanation)
    if as_dict is not None and not isinstance(value, type):
        return {name: to_jsonable(item) for name, item in as_dict().items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return _items(value)
    if isinstance(value, set | frozenset):
        return [to_jsonable(v) for v in value]
    if type(value).__module__ == "ipaddress":  # addresses, networks, interfaces
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _items(values: Sequence[Any]) -> list[Any]:
    """A list or tuple's items; records of one class through its converter (the
    10,000 replies of a flood ping: 60 -> 15 ms)."""
    if values:
        cls = type(values[0])
        convert = record_converter(cls) if hasattr(cls, "_fields") else None
        if convert is not None and all(type(v) is cls for v in values):
            return list(map(convert, values))
    return [to_jsonable(v) for v in values]


_PLAIN_WORDS = frozenset({"str", "int", "float", "bool", "None", "tuple", "list"})
_converters: dict[type, Callable[[Any], dict[str, Any]] | None] = {}


def _plain_type(note: Any) -> bool:
    """A field annotation made of JSON's own types only (str, int, float, bool, None,
    tuples and lists of those)."""
    import re

    # str(int | None) is "int | None", but str(int) is "<class 'int'>": use names
    text = note.__name__ if isinstance(note, type) else str(getattr(note, "__forward_arg__",
                                                                    note))
    return set(re.findall(r"[A-Za-z_]+", text)) <= _PLAIN_WORDS


def record_converter(cls: type) -> Callable[[Any], dict[str, Any]] | None:
    """For a NamedTuple class whose fields are JSON-native or are themselves such
    records (``Link.stats``), a fast row -> dict function; None otherwise."""
    if cls in _converters:
        return _converters[cls]
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    notes = getattr(cls, "__annotations__", {})
    nested: dict[str, tuple[str, ...]] = {}
    convert: Callable[[Any], dict[str, Any]] | None = None
    if fields and set(notes) == set(fields):
        for name, note in notes.items():
            if isinstance(note, type) and hasattr(note, "_fields"):
                if record_converter(note) is None or any(
                        isinstance(n, type) and hasattr(n, "_fields")
                        for n in note.__annotations__.values()):
                    break
                nested[name] = note._fields
            elif not _plain_type(note):
                break
        else:
            def convert(row: Any) -> dict[str, Any]:
                d = dict(zip(fields, row, strict=True))
                for name, sub in nested.items():
                    d[name] = dict(zip(sub, d[name], strict=True))
                return d
    _converters[cls] = convert
    return convert


def _item_encoder(ensure_ascii: bool = True) -> Callable[[Any], str]:
    """``json.dumps`` for one item of many: the C encoder made once. Each call of
    ``JSONEncoder.encode`` builds a new one (2.7 us of the 3.5 an item takes for
    a flood ping's 10,000 replies). Where json has no C encoder, ``encode``."""
    import json.encoder as je

    base = je.JSONEncoder(check_circular=False, ensure_ascii=ensure_ascii)
    # json's own, called as JSONEncoder.iterencode() calls it
    c_make_encoder: Callable[..., Any] | None = getattr(je, "c_make_encoder", None)
    if c_make_encoder is None:
        return base.encode
    try:
        strings = je.encode_basestring_ascii if ensure_ascii else je.encode_basestring
        make = c_make_encoder(None, base.default, strings, None,
                              base.key_separator, base.item_separator, False, False, True)
    except TypeError:  # another signature in a later Python
        return base.encode

    def encode(value: Any) -> str:
        return "".join(make(value, 0))

    return encode


def write_json(value: Any, out: TextIO | None = None) -> None:
    """JSON on ``out``: a list is written one compact object per line (fast, and
    easy to grep); an object one key per line, the items of a list value one per line."""
    out = out if out is not None else sys.stdout
    encode = _item_encoder()
    if isinstance(value, list):
        if not value:
            out.write("[]\n")
            return
        cls = type(value[0])
        convert = record_converter(cls)
        if convert is not None and all(type(v) is cls for v in value):
            items = (encode(convert(v)) for v in value)  # no per-field checks
        else:
            items = (encode(to_jsonable(v)) for v in value)
        out.write("[\n  " + ",\n  ".join(items) + "\n]\n")
        return
    value = to_jsonable(value)
    if not isinstance(value, dict) or not value:
        out.write(encode(value) + "\n")
        return
    # one key per line, a list's items one per line: readable, and as fast as compact
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and item:
            parts.append(f"  {encode(key)}: [\n    " + ",\n    ".join(map(encode, item))
                         + "\n  ]")
        else:
            parts.append(f"  {encode(key)}: {encode(item)}")
    out.write("{\n" + ",\n".join(parts) + "\n}\n")


_FLAT_CACHE = 4096  # distinct values remembered per field (a route's prefix is never again)
_flat: dict[type, Callable[[list[Any]], str] | None] = {}


def _flat_encoder(cls: type, encode: Callable[[Any], str],
                  strings: Callable[[str], str] | None = None
                  ) -> Callable[[list[Any]], str] | None:
    """For a record class without bools or floats (1 == True == 1.0 would share a
    cache entry), nor nested records other than records of ints, a function of a
    batch of its records -> their JSON texts joined by ",\n  ", equal to ``encode``
    of each converted dict, that works a field at a time: each distinct value of a
    field is encoded once (a route's family, table, type, gateway, device, protocol
    and scope repeat) through a cache ``map`` reads in C; a field with more than
    _FLAT_CACHE distinct values (a route's prefix) is encoded directly, by
    ``strings`` (json's own C string encoder, as ``encode`` uses it) when the
    batch's values are all text; a nested record of ints (a link's counters) by one
    ``%`` of its template. None for other classes."""
    if cls in _flat:
        return _flat[cls]
    from itertools import repeat

    notes = getattr(cls, "__annotations__", {})
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    make: Callable[[list[Any]], str] | None = None
    texts = [n.__name__ if isinstance(n, type) else str(n) for n in notes.values()]
    # a nested record of ints only (Link.stats): its text from one template, "%d" each
    nested = {i: "{" + ", ".join(f"{encode(name)}: %d" for name in n._fields) + "}"
              for i, n in enumerate(notes.values())
              if isinstance(n, type) and hasattr(n, "_fields")
              and all(sub is int for sub in getattr(n, "__annotations__", {}).values())
              and len(n.__annotations__) == len(n._fields)}
    if fields and record_converter(cls) is not None and not any(
            ("bool" in t or "float" in t or "list" in t
             or (isinstance(n, type) and hasattr(n, "_fields") and i not in nested))
            for i, (t, n) in enumerate(zip(texts, notes.values(), strict=True))):
        template = "{" + ", ".join(f"{encode(name)}: %s" for name in fields) + "}"

        class Encoded(dict[object, str]):
            def __missing__(self, value: object) -> str:
                text = encode(value)
                if len(self) < _FLAT_CACHE:
                    self[value] = text
                return text

        caches = [Encoded() for _ in fields]

        def make(rows: list[Any]) -> str:
            columns: list[Iterator[str]] = []
            for i, (cache, values) in enumerate(zip(caches, zip(*rows, strict=True),
                                                    strict=True)):
                if i in nested:
                    columns.append(map(nested[i].__mod__, values))
                elif len(cache) < _FLAT_CACHE:
                    columns.append(map(cache.__getitem__, values))
                elif strings is not None and set(map(type, values)) == {str}:
                    columns.append(map(strings, values))
                elif set(map(type, values)) == {int}:
                    columns.append(map(int.__repr__, values))  # as json.dumps
                else:
                    columns.append(map(encode, values))
            if not columns:
                return ",\n  ".join(repeat(template, len(rows)))
            return ",\n  ".join(map(template.__mod__, zip(*columns, strict=True)))

    _flat[cls] = make
    return make


def write_json_stream(items: Iterable[Any], out: TextIO | None = None,
                      batch: int = 4096) -> None:
    """:func:`write_json` of a list, written as the items come (``batch`` at a time):
    the same bytes, without holding the list."""
    import json.encoder as je
    from itertools import islice

    out = out if out is not None else sys.stdout
    encode = _item_encoder()
    it = iter(items)
    lead = "[\n  "
    while chunk := list(islice(it, batch)):
        cls = type(chunk[0])
        convert = record_converter(cls)
        flat = _flat_encoder(cls, encode, je.encode_basestring_ascii) if convert else None
        if flat is not None and all(type(v) is cls for v in chunk):
            text = flat(chunk)
        elif convert is not None and all(type(v) is cls for v in chunk):
            text = ",\n  ".join(map(encode, map(convert, chunk)))
        else:
            text = ",\n  ".join(encode(to_jsonable(v)) for v in chunk)
        out.write(lead + text)
        lead = ",\n  "
    out.write("[]\n" if lead == "[\n  " else "\n]\n")


def write_json_texts(texts: Iterable[str], out: TextIO | None = None,
                     batch: int = 4096) -> None:
    """:func:`write_json_stream` of items already encoded (each item's JSON text, as
    ``_item_encoder()`` makes it): the same bytes, framed the same way."""
    from itertools import islice

    out = out if out is not None else sys.stdout
    it = iter(texts)
    lead = "[\n  "
    while chunk := list(islice(it, batch)):
        out.write(lead + ",\n  ".join(chunk))
        lead = ",\n  "
    out.write("[]\n" if lead == "[\n  " else "\n]\n")


def json_item_encoder() -> Callable[[object], str]:
    """The encoder :func:`write_json_stream` uses for one item (ASCII only)."""
    return _item_encoder()


def terminal_columns(fallback: int) -> int:
    """The terminal's width as ``shutil.get_terminal_size()`` gives it (``COLUMNS``
    first, then stdout's terminal), without importing shutil: 2 ms of start-up."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        stream = sys.__stdout__
        try:
            columns = os.get_terminal_size(stream.fileno()).columns if stream else 0
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback


def _cell(value: Any) -> str:
    kind = type(value)
    if kind is str or kind is int:  # the common cases first (1,000 links: 9,000 cells)
        return str(value)
    if value is None:
        return "-"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_cell(v) for v in value) or "-"
    return str(value)


def _get(row: Any, key: str) -> Any:
    if type(row) is dict:  # before isinstance(Mapping), an ABC check per cell
        return row.get(key)
    if isinstance(row, Mapping):
        return row.get(key)
    return getattr(row, key, None)


def table(rows: Iterable[Any], columns: Sequence[Column], width: int | None = None,
          header: bool = True) -> list[str]:
    """Rows as aligned text lines that fit ``width`` (the terminal by default)."""
    cells = [[_cell(_get(r, c.key)) for c in columns] for r in rows]
    widths = [len(c.header) if header else 0 for c in columns]
    for line in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, line, strict=True)]
    limit = width if width is not None else terminal_columns(120)
    excess = sum(widths) + 2 * (len(columns) - 1) - limit
    shrinkable = [i for i, c in enumerate(columns) if c.shrink]
    while excess > 0 and shrinkable:
        i = max(shrinkable, key=lambda k: widths[k])
        floor = max(len(columns[i].header), 8)
        cut = min(excess, widths[i] - floor)
        if cut <= 0:
            break
        widths[i] -= cut
        excess -= cut

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(w - 1, 0)] + "…"

    out = []
    all_lines = ([[c.header for c in columns]] if header else []) + cells
    for line in all_lines:
        parts = []
        for c, w, v in zip(columns, widths, line, strict=True):
            v = fit(v, w)
            parts.append(v.rjust(w) if c.right else v.ljust(w))
        out.append("  ".join(parts).rstrip())
    return out


SPILL_AFTER = 8 << 20  # characters of table text held before the rest goes to a file


def stream_table(rows: Iterable[Sequence[Any]], columns: Sequence[Column],
                 out: TextIO | None = None, batch: int = 4096,
                 spill_after: int = SPILL_AFTER) -> None:
    """:func:`table` of plain rows (text, or numbers in right-aligned columns, never
    None), written as they come: the same bytes, under columns that are never cut
    (none ``shrink``).

    Each batch of rows is kept as its cells, a column after the other, joined by
    NUL (one ``join`` a batch) while the column widths grow, and formatted once at
    the end with the final widths (one ``%`` a batch: the routes of IPv6 come last
    and widen the columns of the IPv4 ones before them, so no batch can be
    formatted before the end). A batch whose cells hold a NUL keeps its rows
    instead. Past ``spill_after`` characters the batches go to an unlinked
    temporary file (the page cache, in practice) and are read back one by one:
    memory stays flat however long the table."""
    import re
    from itertools import chain, islice
    from typing import IO

    out = out if out is not None else sys.stdout
    ncol = len(columns)
    last = ncol - 1
    widths = [len(c.header) for c in columns]
    # a batch: its cells, or its rows; and whether a line may end in whitespace
    done: list[tuple[str | list[Sequence[Any]] | tuple[int, int], bool]] = []
    held = 0
    it = iter(rows)
    trailing = re.compile(r"\s(?:\0|$)").search

    def text_columns(chunk: list[Sequence[Any]]) -> list[Sequence[str]]:
        cols: list[Sequence[Any]] = list(zip(*chunk, strict=True))
        for i, col in enumerate(cols):
            try:
                widest = max(map(len, col)) if not columns[i].right else -1
            except TypeError:  # a number in a left column
                widest = -1
            if widest < 0:
                cols[i] = col = tuple(map(str, col))
                widest = max(map(len, col))
            if widest > widths[i]:
                widths[i] = widest
        return cols

    def fill(spill: IO[bytes] | None) -> bool:
        """Keep the batches; True when they outgrew ``spill_after`` with no file."""
        nonlocal held
        while chunk := list(islice(it, batch)):
            cols = text_columns(chunk)
            strip = "" in cols[last] or bool(trailing("\0".join(cols[last])))
            cells = "\0".join(chain.from_iterable(cols))
            if cells.count("\0") != ncol * len(chunk) - 1:  # a NUL in a cell: the rows
                done.append((chunk, strip))
                continue
            if spill is None:
                done.append((cells, strip))
                held += len(cells)
                if held > spill_after:
                    return True
                continue
            data = cells.encode()
            done.append(((spill.tell(), len(data)), strip))
            spill.write(data)
        return False

    def finish(spill: IO[bytes] | None) -> None:
        cells = [f"%{'' if c.right else '-'}{w}s" for c, w in zip(columns[:last], widths,
                                                                  strict=False)]
        fmt = "  ".join([*cells, f"%{widths[last]}s" if columns[last].right else "%s"])
        out.write((fmt % tuple(c.header for c in columns)).rstrip() + "\n")
        for kept, strip in done:
            if isinstance(kept, tuple):
                if spill is None:  # never: a spilled batch has its file
                    continue
                spill.seek(kept[0])
                kept = spill.read(kept[1]).decode()
            if isinstance(kept, str):
                words = kept.split("\0")
                n = len(words) // ncol
                values = tuple(chain.from_iterable(zip(*(words[i * n:(i + 1) * n]
                                                         for i in range(ncol)), strict=True)))
            else:
                n = len(kept)
                values = tuple(str(v) for v in chain.from_iterable(kept))
            text = "\n".join([fmt] * n) % values
            if strip:  # table() strips every line
                text = "\n".join(line.rstrip() for line in text.split("\n"))
            out.write(f"{text}\n")
        done.clear()

    if not fill(None):
        finish(None)
        return
    import tempfile

    with tempfile.TemporaryFile() as spill:
        fill(spill)
        finish(spill)


def emit(rows: Sequence[Any], columns: Sequence[Column], as_json: bool,
         out: TextIO | None = None) -> None:
    """Print ``rows`` as JSON (a list) or as a table."""
    out = out if out is not None else sys.stdout
    if as_json:
        write_json(list(rows), out)
        return
    for line in table(rows, columns):
        out.write(line + "\n")
