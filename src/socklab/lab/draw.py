"""A lab's topology drawn: as text for the terminal, and as an SVG picture. Pure."""

from __future__ import annotations

import math
from html import escape

from socklab.lab.topology import Lab

__all__ = ["svg", "text"]


def _ifdesc(lab: Lab, node: str, dev: str) -> str:
    iface = lab.nodes[node].interfaces[dev]
    addrs = iface.addresses + [f"{a} ({label})" for label, a in iface.aliases]
    return f"{node}:{dev}" + (f" {' '.join(addrs)}" if addrs else "")


def text(lab: Lab) -> str:
    """One line per node, link and switch port::

        h1 (host) ── eth0 10.0.1.10/24 ════ eth0 10.0.1.1/24 ── r1 (router)
    """
    title = lab.title.get("en", "")
    out = [f"lab {lab.name}" + (f": {title}" if title else "")]
    for node in lab.nodes.values():
        extra = []
        if node.nat:
            extra.append(f"nat on {', '.join(node.nat)}")
        if node.rules:
            extra.append(f"{len(node.rules)} filter rules")
        if node.esp:
            extra.append("ESP with " + ", ".join(p.remote for p in node.esp))
        if node.policies:
            extra.append(f"{len(node.policies)} IPsec policies")
        if node.services:
            extra.append("services " + ", ".join(s.endpoint for s in node.services))
        routes = ", ".join(f"{r.to} via {r.via}" if r.via else f"{r.to} dev {r.dev}"
                           for r in node.routes)
        if routes:
            extra.append(f"routes {routes}")
        out.append(f"  [{node.name}] {node.kind}" + (f"  ({'; '.join(extra)})" if extra else ""))
    for link in lab.links:
        attrs = " ".join(x for x in (f"mtu {link.mtu}" if link.mtu else "",
                                     f"rate {link.rate}" if link.rate else "") if x)
        out.append(f"  {_ifdesc(lab, *link.a)} ──────── {_ifdesc(lab, *link.b)}"
                   + (f"  [{attrs}]" if attrs else ""))
    for sw in lab.switches.values():
        out.append(f"  <{sw.name}> switch")
        for i, (name, dev) in enumerate(sw.ports):
            corner = "└" if i == len(sw.ports) - 1 else "├"
            out.append(f"     {corner}── {_ifdesc(lab, name, dev)}")
    return "\n".join(out) + "\n"


def svg(lab: Lab) -> str:
    """Nodes on a circle (routers as rounded boxes, hosts as boxes, switches as
    ellipses), links as lines labelled with the interface names and addresses."""
    names = [("node", n) for n in lab.nodes] + [("switch", s) for s in lab.switches]
    size = 720
    centre = size / 2
    radius = size / 2 - 120
    pos = {}
    for i, (_, name) in enumerate(names):
        angle = 2 * math.pi * i / max(len(names), 1) - math.pi / 2
        pos[name] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
             f'font-family="monospace" font-size="11">',
             f'<text x="10" y="20" font-size="14">{escape(lab.name)}: '
             f'{escape(lab.title.get("en", ""))}</text>']

    def edge(a: str, b: str, label_a: str, label_b: str) -> None:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                     f'stroke="black"/>')
        for (x, y), (ox, oy), label in (((x1, y1), (x2, y2), label_a),
                                        ((x2, y2), (x1, y1), label_b)):
            if label:
                lx, ly = x + (ox - x) * 0.25, y + (oy - y) * 0.25
                parts.append(f'<text x="{lx:.0f}" y="{ly:.0f}" fill="navy">'
                             f'{escape(label)}</text>')

    def iflabel(node: str, dev: str) -> str:
        return _ifdesc(lab, node, dev).split(":", 1)[1]

    for link in lab.links:
        edge(link.a[0], link.b[0], iflabel(*link.a), iflabel(*link.b))
    for sw in lab.switches.values():
        for node, dev in sw.ports:
            edge(node, sw.name, iflabel(node, dev), "")
    for kind, name in names:
        x, y = pos[name]
        if kind == "switch":
            parts.append(f'<ellipse cx="{x:.0f}" cy="{y:.0f}" rx="40" ry="18" fill="#eee" '
                         f'stroke="black"/>')
        else:
            rx = 10 if lab.nodes[name].kind == "router" else 0
            parts.append(f'<rect x="{x - 35:.0f}" y="{y - 15:.0f}" width="70" height="30" '
                         f'rx="{rx}" fill="{"#ffd" if rx else "#def"}" stroke="black"/>')
        parts.append(f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
