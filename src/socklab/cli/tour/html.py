"""``socklab tour --html FILE``: the tour as one self-contained HTML page.

Rules: no script, no network (no external style sheet, font or image): the
page is the text of the run, its traced calls and tables, and an SVG sequence
diagram per section drawn from the calls the run made (one lane per socket,
named by its role; each call on its lane, with its real arguments: ports and
byte counts). Every string from the run is escaped (html.escape) before it
enters the page.
"""

from __future__ import annotations

from html import escape

from socklab.cli.tour import SectionResult
from socklab.cli.tour.lang import Translator

LANE = 150  # px between two lanes
ROW = 22  # px per call
TEXT = 34  # characters of a call shown on its lane

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
h2 { border-bottom: 1px solid #888; } .num { color: #666; font-weight: normal; }
pre { background: #f4f4f4; padding: .5em; overflow-x: auto; font-size: 85%; }
.fact b { font-family: monospace; } .next code { background: #eef; }
.skipped, .failed { color: #a40; } svg { display: block; margin: 1em 0; }
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
        for step in r.steps:
            if step["kind"] != "call" and calls:
                parts.append("<pre>" + escape("\n".join(calls)) + "</pre>")
                calls = []
            parts.append(_step(step, calls, _))
        if calls:
            parts.append("<pre>" + escape("\n".join(calls)) + "</pre>")
        parts.append(sequence_svg(r))
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _step(step: dict[str, object], calls: list[str], _: Translator) -> str:
    kind = step["kind"]
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


def sequence_svg(r: SectionResult) -> str:
    """The section's calls as a sequence diagram: one lane per socket, time downwards."""
    rows = [(str(s.get("lane") or "?"), _short(s)) for s in r.steps if s["kind"] == "call"]
    if not rows:
        return ""
    lanes: list[str] = []
    for lane, _text in rows:
        if lane not in lanes:
            lanes.append(lane)
    width = LANE * len(lanes) + 40
    height = 40 + ROW * len(rows) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="10" '
           f'role="img"><title>{escape(r.title)}</title>']
    for i, lane in enumerate(lanes):
        x = 20 + LANE * i + LANE // 2
        out.append(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - 5}" stroke="#999" '
                   f'stroke-dasharray="3,3"/>')
        out.append(f'<text x="{x}" y="18" text-anchor="middle" font-weight="bold">'
                   f"{escape(lane[:24])}</text>")
    for n, (lane, text) in enumerate(rows):
        x = 20 + LANE * lanes.index(lane) + LANE // 2
        y = 40 + ROW * n
        out.append(f'<rect x="{x - LANE // 2 + 4}" y="{y}" width="{LANE - 8}" height="{ROW - 4}" '
                   f'rx="3" fill="#e8f0fe" stroke="#4a6fa5"/>')
        out.append(f'<text x="{x}" y="{y + ROW - 9}" text-anchor="middle">'
                   f"{escape(text)}</text>")
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
