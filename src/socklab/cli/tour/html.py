"""``socklab tour --html FILE``: the tour as one self-contained HTML page.

Rules: no script, no network (no external style sheet, font or image): the
page is the text of the run, its traced calls and tables, and SVG figures
drawn from the run itself:

- a sequence diagram per section from the calls the run made (one lane per
  socket, named by its role; each call on its lane, with its real arguments:
  ports and byte counts); when the section recorded its packets and states
  (the ``sequence`` figure of :mod:`socklab.cli.tour.wire`), the packets as
  arrows between the lanes and the TCP states on them, in time order;
- the course's figure 3 (the ``buffers`` figure of the TCP and UDP sections):
  a stream socket's and a datagram socket's buffers with the bytes written,
  held and read in this run;
- the interfaces and routes (the ``topology`` figure of the stack section):
  each interface a box with its addresses, each route an arrow to its
  interface, and on to its gateway.

Every string from the run is escaped (html.escape) before it enters the page,
and every number drawn comes from the run's records.
"""

from __future__ import annotations

from html import escape

from socklab.cli.tour import SectionResult
from socklab.cli.tour.lang import N_, Translator

LANE = 210  # px between two lanes: a call of TEXT characters fits its box
ROW = 22  # px per call
TEXT = 34  # characters of a call shown on its lane

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
h2 { border-bottom: 1px solid #888; } .num { color: #666; font-weight: normal; }
pre { background: #f4f4f4; padding: .5em; overflow-x: auto; font-size: 85%; }
.fact b { font-family: monospace; } .next code { background: #eef; }
.skipped, .failed { color: #a40; } svg { display: block; margin: 1em 0; }
table.code { border-collapse: collapse; width: 100%; } table.code td, table.code th {
  border: 1px solid #ccc; vertical-align: top; padding: 0 .3em; text-align: left; }
table.code pre { margin: .2em 0; background: none; padding: 0; }
"""


def page(results: list[SectionResult], _: Translator) -> str:
    """The whole page (a str; the caller writes it)."""
    parts = [f'<!DOCTYPE html>\n<html lang="{_.lang}"><head><meta charset="utf-8">',
             f"<title>socklab tour</title><style>{STYLE}</style></head><body>",
             "<h1>socklab tour</h1>"]
    for r in results:
        parts.append(f'<section id="{escape(r.name)}"><h2><span class="num">'
                     f"{escape(r.course)}</span> {escape(r.title)}</h2>")
        if r.status != "ok":
            parts.append(f'<p class="{escape(r.status)}">{escape(_(r.status))}: '
                         f"{escape(r.reason)}</p>")
        calls: list[str] = []
        code: list[tuple[list[str], list[str]]] = []  # (lines of code, the calls they made)
        for step in r.steps:
            lines = _code(step)
            if step["kind"] == "call" and code:
                code[-1][1].append(str(step["text"]))
                continue
            if step["kind"] != "call" and calls:
                parts.append("<pre>" + escape("\n".join(calls)) + "</pre>")
                calls = []
            if lines:
                code.append((lines, []))
                continue
            if code and step["kind"] != "call":
                parts.append(_code_table(code, _))
                code = []
            parts.append(_step(step, calls, _))
        if calls:
            parts.append("<pre>" + escape("\n".join(calls)) + "</pre>")
        if code:
            parts.append(_code_table(code, _))
        parts.append(sequence_svg(r))
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _code(step: dict[str, object]) -> list[str]:
    """The lines of a table step that shows code (the TD's: ``data`` has ``python``)."""
    data, lines = step.get("data"), step.get("lines")
    if step["kind"] == "table" and isinstance(data, dict) and "python" in data \
            and isinstance(lines, list):
        return [str(line) for line in lines]
    return []


def _code_table(rows: list[tuple[list[str], list[str]]], _: Translator) -> str:
    """Code beside the system calls it made: one row per line of the program."""
    left, right = _("the TD's code"), _("what it made the kernel do")
    head = f'<table class="code"><tr><th>{escape(left)}</th><th>{escape(right)}</th></tr>'
    body = "".join("<tr><td><pre>" + escape("\n".join(code)) + "</pre></td><td><pre>"
                   + escape("\n".join(calls)) + "</pre></td></tr>" for code, calls in rows)
    return head + body + "</table>"


def _step(step: dict[str, object], calls: list[str], _: Translator) -> str:
    kind = step["kind"]
    if kind == "figure":
        data = step.get("data")
        if not isinstance(data, dict):
            return ""
        if step.get("figure") == "buffers":
            return buffers_svg(data, _)
        if step.get("figure") == "topology":
            return topology_svg(data, _)
        return ""
    if kind == "call":
        calls.append(str(step["text"]))
        return ""
    if kind == "say":
        return f"<p>{escape(str(step['text']))}</p>"
    if kind == "fact":
        note = f" <i>({escape(str(step['note']))})</i>" if step.get("note") else ""
        return (f'<p class="fact">{escape(str(step["label"]))}: '
                f"<b>{escape(str(step['value']))}</b>{note}</p>")
    if kind == "table":
        lines = step["lines"]
        return "<pre>" + escape("\n".join(str(x) for x in lines)
                                if isinstance(lines, list) else "") + "</pre>"
    if kind == "next":
        commands = step["commands"]
        items = "".join(f"<li><code>{escape(str(c))}</code></li>"
                        for c in (commands if isinstance(commands, list) else []))
        return f'<div class="next">{escape(_("try next:"))}<ul>{items}</ul></div>'
    return ""


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="10" '
            f'role="img"><title>{escape(title)}</title>'
            '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
            'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>')


def _figure(r: SectionResult, name: str) -> dict[str, object] | None:
    for step in r.steps:
        data = step.get("data")
        if step["kind"] == "figure" and step.get("figure") == name and isinstance(data, dict):
            return data
    return None


def _rows(r: SectionResult) -> list[tuple[float, int, str, str, str, str]]:
    """(time, order, kind, lane, text, second lane) of the diagram: the calls, then the
    packets and states of the section's ``sequence`` figure, sorted by time."""
    rows: list[tuple[float, int, str, str, str, str]] = []
    for s in r.steps:
        if s["kind"] == "call":
            event = s.get("event")
            stamp = event.get("time") if isinstance(event, dict) else None
            rows.append((stamp if isinstance(stamp, float) else 0.0, len(rows), "call",
                         str(s.get("lane") or "?"), _short(s), ""))
    seq = _figure(r, "sequence")
    if seq is not None:
        events = seq.get("events")
        lanes = seq.get("packet_lanes")
        ends = iter(lanes if isinstance(lanes, list) else [])
        for e in events if isinstance(events, list) else []:
            if not isinstance(e, dict) or e.get("kind") not in ("packet", "state"):
                continue
            stamp = e.get("time")
            when = stamp if isinstance(stamp, float) else 0.0
            if e["kind"] == "state":
                rows.append((when, len(rows), "state", str(e.get("role") or "?"),
                             f"[{e.get('label')}]", ""))
                continue
            pair: object = next(ends, {})
            src = str(pair.get("from") or "") if isinstance(pair, dict) else ""
            dst = str(pair.get("to") or "") if isinstance(pair, dict) else ""
            text = str(e.get("text") or "")
            size = text.split(" bytes")[0].rsplit(" ", 1)[-1] if " bytes" in text else ""
            label = str(e.get("label") or "") + (f" {size} bytes" if size.isdigit() else "")
            if src and dst:
                rows.append((when, len(rows), "packet", src, label, dst))
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def sequence_svg(r: SectionResult) -> str:
    """The section's calls as a sequence diagram: one lane per socket, time downwards;
    with the packets (arrows between two lanes) and the states when the run has them."""
    rows = _rows(r)
    if not any(kind == "call" for _t, _o, kind, *_rest in rows):
        return ""
    lanes: list[str] = []
    for _t, _o, _kind, lane, _text, other in rows:
        for name in (lane, other):
            if name and name not in lanes:
                lanes.append(name)
    width = LANE * len(lanes) + 40
    height = 40 + ROW * len(rows) + 10
    out = [_svg_open(width, height, r.title)]

    def x_of(lane: str) -> int:
        return 20 + LANE * lanes.index(lane) + LANE // 2

    for lane in lanes:
        x = x_of(lane)
        out.append(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - 5}" stroke="#999" '
                   f'stroke-dasharray="3,3"/>')
        out.append(f'<text x="{x}" y="18" text-anchor="middle" font-weight="bold">'
                   f"{escape(lane[:24])}</text>")
    for n, (_t, _o, kind, lane, text, other) in enumerate(rows):
        x = x_of(lane)
        y = 40 + ROW * n
        if kind == "packet":
            x2 = x_of(other)
            out.append(f'<line class="packet" x1="{x}" y1="{y + ROW - 6}" x2="{x2}" '
                       f'y2="{y + ROW - 6}" stroke="#1a56b0" marker-end="url(#arrow)"/>')
            out.append(f'<text x="{(x + x2) // 2}" y="{y + ROW - 10}" text-anchor="middle" '
                       f'fill="#1a56b0">{escape(text)}</text>')
        elif kind == "state":
            out.append(f'<text class="state" x="{x}" y="{y + ROW - 9}" text-anchor="middle" '
                       f'fill="#17702b" font-weight="bold">{escape(text)}</text>')
        else:
            out.append(f'<rect x="{x - LANE // 2 + 4}" y="{y}" width="{LANE - 8}" '
                       f'height="{ROW - 4}" rx="3" fill="#e8f0fe" stroke="#4a6fa5"/>')
            out.append(f'<text x="{x}" y="{y + ROW - 9}" text-anchor="middle">'
                       f"{escape(text)}</text>")
    out.append("</svg>")
    return "".join(out)


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


BUFFER_TITLES = {"stream": N_("Figure 3: the buffers of a stream socket, in this run"),
                 "datagram": N_("Figure 3: the buffers of a datagram socket, in this run")}


def buffers_svg(data: dict[str, object], _: Translator) -> str:
    """The course's figure 3 with this run's numbers: the writer's calls, the send
    buffer, the receive buffer (one stream of bytes, or one box per datagram) and
    the reader's calls. Widths are proportional to the byte counts."""
    stream = data.get("mode") == "stream"
    writes, reads = _ints(data.get("writes")), _ints(data.get("reads"))
    queued = _int(data.get("queued"))
    if not writes or not reads:
        return ""
    width, height = 700, 160
    out = [_svg_open(width, height, _(BUFFER_TITLES["stream" if stream else "datagram"]))]
    out.append(f'<text x="10" y="16" font-size="12" font-weight="bold">'
               f'{escape(_(BUFFER_TITLES["stream" if stream else "datagram"]))}</text>')
    # the two processes
    for x, head, calls in ((10, _("writer process"),
                            [f"{'send' if stream else 'sendto'}({n})" for n in writes]),
                           (560, _("reader process"),
                            [f"{'recv' if stream else 'recvfrom'}() = {n}" for n in reads])):
        out.append(f'<rect x="{x}" y="40" width="110" height="{30 + 14 * len(calls)}" '
                   f'fill="#f4f4f4" stroke="#555"/>')
        out.append(f'<text x="{x + 55}" y="56" text-anchor="middle" font-weight="bold" '
                   f'font-size="9">'
                   f"{escape(head)}</text>")
        for i, call in enumerate(calls[:6]):
            out.append(f'<text class="call" x="{x + 55}" y="{72 + 14 * i}" '
                       f'text-anchor="middle">{escape(call)}</text>')
    # the send buffer (stream: bytes not yet acknowledged)
    out.append('<rect x="150" y="50" width="120" height="40" fill="#fff" stroke="#555"/>')
    out.append(f'<text x="210" y="44" text-anchor="middle">{escape(_("send buffer"))}</text>')
    note = (_("{count} bytes not yet acknowledged").format(count=_int(data.get("unacked")))
            if stream else _("each sendto() leaves as one datagram"))
    out.append(f'<text x="150" y="122" font-size="9">{escape(note)}</text>')
    out.append('<line x1="120" y1="70" x2="148" y2="70" stroke="#333" '
               'marker-end="url(#arrow)"/>')
    out.append('<line x1="270" y1="70" x2="318" y2="70" stroke="#333" '
               'marker-end="url(#arrow)"/>')
    out.append('<text x="294" y="62" text-anchor="middle" font-size="9">lo</text>')
    # the receive buffer, drawn as it was before the first read
    out.append(f'<text x="425" y="44" text-anchor="middle">'
               f'{escape(_("receive buffer"))}</text>')
    out.append('<rect x="320" y="50" width="210" height="40" fill="#fff" stroke="#555"/>')
    total = max(sum(writes), 1)
    left = 324.0
    colours = ("#9ec5fe", "#ffd28a")
    for i, n in enumerate(writes):
        w = 202 * n / total - (0 if stream else 4)
        out.append(f'<rect class="piece" x="{left:.1f}" y="54" width="{max(w, 2):.1f}" '
                   f'height="32" fill="{colours[i % 2]}"'
                   + ("" if stream else ' stroke="#333"') + "/>")
        out.append(f'<text x="{left + w / 2:.1f}" y="74" text-anchor="middle">{n}</text>')
        left += w + (0 if stream else 4)
    held = (_("{count} bytes, one stream (FIONREAD)").format(count=queued) if stream else
            _("{count} datagrams; FIONREAD: {size} (the next one)").format(
                count=len(writes), size=queued))
    out.append(f'<text class="held" x="320" y="106" font-size="9">'
               f"{escape(held)}</text>")
    out.append('<line x1="530" y1="70" x2="558" y2="70" stroke="#333" '
               'marker-end="url(#arrow)"/>')
    kept = reads == writes
    summary = _("written: {writes} bytes in {w} calls; read: {reads} bytes in {r} calls: "
                "{verdict}").format(
        writes=" + ".join(str(n) for n in writes), w=len(writes),
        reads=" + ".join(str(n) for n in reads), r=len(reads),
        verdict=_("message boundaries kept") if kept else _("no message boundaries"))
    out.append(f'<text class="summary" x="10" y="{height - 12}" font-size="11">'
               f"{escape(summary)}</text>")
    out.append("</svg>")
    return "".join(out)


def _dicts(value: object) -> list[dict[str, object]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def topology_svg(data: dict[str, object], _: Translator) -> str:
    """The interfaces (boxes with their state and addresses) and the main table's
    routes (destination -> interface, and on to the gateway)."""
    links, routes = _dicts(data.get("links")), _dicts(data.get("routes"))
    if not links:
        return ""
    title = _("This machine's interfaces and routes (main table), in this run")
    boxes: dict[str, tuple[int, int]] = {}  # interface -> (top, height)
    y = 50
    for link in links:
        addresses = link.get("addresses")
        n = len(addresses) if isinstance(addresses, list) else 0
        boxes[str(link.get("name"))] = (y, 34 + 13 * n)
        y += 34 + 13 * n + 16
    gateways: list[str] = []
    for r in routes:
        gw = str(r.get("gateway") or "")
        if gw and gw not in gateways:
            gateways.append(gw)
    height = max(y, 50 + 30 * len(routes), 50 + 40 * len(gateways)) + 30
    width = 820
    out = [_svg_open(width, height, title)]
    out.append(f'<text x="10" y="16" font-size="12" font-weight="bold">{escape(title)}</text>')
    out.append(f'<text x="110" y="40" text-anchor="middle" font-weight="bold">'
               f'{escape(_("destination"))}</text>'
               f'<text x="420" y="40" text-anchor="middle" font-weight="bold">'
               f'{escape(_("interface"))}</text>'
               f'<text x="700" y="40" text-anchor="middle" font-weight="bold">'
               f'{escape(_("gateway"))}</text>')
    for link in links:
        name = str(link.get("name"))
        top, h = boxes[name]
        up = str(link.get("state")) in ("UP", "UNKNOWN")
        out.append(f'<rect class="link" x="320" y="{top}" width="200" height="{h}" rx="4" '
                   f'fill="{"#e6f4ea" if up else "#f1f1f1"}" stroke="#555"/>')
        out.append(f'<text class="link-name" x="330" y="{top + 15}" font-weight="bold" '
                   f'font-size="11">'
                   f"{escape(name[:20])}</text>")
        out.append(f'<text x="510" y="{top + 15}" text-anchor="end">'
                   f'{escape(str(link.get("kind"))[:10])} {escape(str(link.get("state")))}'
                   f"</text>")
        out.append(f'<text x="330" y="{top + 28}" fill="#555">mtu {_int(link.get("mtu"))} '
                   f'{escape(str(link.get("mac") or "")[:17])}</text>')
        addresses = link.get("addresses")
        for i, a in enumerate(addresses if isinstance(addresses, list) else []):
            out.append(f'<text class="address" x="330" y="{top + 41 + 13 * i}">'
                       f"{escape(str(a)[:43])}</text>")
    for i, gw in enumerate(gateways):
        gy = 50 + 40 * i
        out.append(f'<rect x="620" y="{gy}" width="160" height="26" rx="13" fill="#fff4e0" '
                   f'stroke="#a06000"/><text class="gateway" x="700" y="{gy + 17}" '
                   f'text-anchor="middle">{escape(gw[:24])}</text>')
    for i, r in enumerate(routes):
        ry = 50 + 30 * i
        dev = str(r.get("dev") or "")
        if dev not in boxes:
            continue
        top, h = boxes[dev]
        out.append(f'<rect x="10" y="{ry}" width="200" height="22" rx="3" fill="#e8f0fe" '
                   f'stroke="#4a6fa5"/><text class="route" x="110" y="{ry + 15}" '
                   f'text-anchor="middle">{escape(str(r.get("dst"))[:30])}</text>')
        out.append(f'<line x1="210" y1="{ry + 11}" x2="318" y2="{top + h // 2}" '
                   f'stroke="#4a6fa5" marker-end="url(#arrow)"/>')
        gw = str(r.get("gateway") or "")
        if gw:
            gy = 50 + 40 * gateways.index(gw) + 13
            out.append(f'<line x1="520" y1="{top + h // 2}" x2="618" y2="{gy}" '
                       f'stroke="#a06000" stroke-dasharray="4,2" marker-end="url(#arrow)"/>')
    more = [_("{count} more interfaces").format(count=_int(data.get("more_links")))
            if _int(data.get("more_links")) else "",
            _("{count} more routes").format(count=_int(data.get("more_routes")))
            if _int(data.get("more_routes")) else ""]
    if any(more):
        out.append(f'<text x="10" y="{height - 10}" fill="#555">'
                   f'{escape(", ".join(m for m in more if m))}</text>')
    out.append("</svg>")
    return "".join(out)


def _short(step: dict[str, object]) -> str:
    """call(args) = result, without the fd (the lane says which socket), cut to fit."""
    event = step.get("event")
    if not isinstance(event, dict):
        return str(step.get("text", ""))[:TEXT]
    args = ", ".join(str(a) for a in event.get("args") or [])
    result = event.get("result") if event.get("errno") is None else event.get("errno")
    text = f"{event.get('call')}({args}) = {result}"
    return text if len(text) <= TEXT else text[:TEXT - 1] + "…"
