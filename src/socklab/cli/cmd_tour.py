"""Walk through the course "les sockets" on this machine.

Each section explains a part of the course and does it for real: the socket
calls are shown as they happen (the same events as --trace). A section that
needs a privilege this process lacks says why and the tour goes on.

examples:
  socklab tour                 the whole tour
  socklab tour tcp             only the TCP section
  socklab tour --list          the sections, in course order
  socklab --trace=json tour    also every call as JSON lines on stderr

classic: the course's own C and Python snippets (socket, bind, listen, accept, connect)
"""

from __future__ import annotations

import argparse
import sys

from socklab.errors import EXIT_FAILURE, BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sections", nargs="*", metavar="SECTION", help="sections to run (default all)")
    p.add_argument("--list", action="store_true", help="list the sections and exit")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, tour

    sections = tour.SECTIONS()
    names = [s.name for s in sections]
    unknown = [n for n in args.sections if n not in names]
    if unknown:
        raise BadInput(f"unknown tour section {unknown[0]!r} (sections: {', '.join(names)})")
    if args.list:
        rows = [{"name": s.name, "title": s.title, "course": s.course} for s in sections]
        render.emit(rows, [render.Column("name", "SECTION"), render.Column("course", "COURSE"),
                           render.Column("title", "TITLE", shrink=True)], args.json)
        return 0
    t = tour.Tour(None if args.json else sys.stdout, debug=args.debug)
    results = tour.run(t, args.sections or None)
    if args.json:
        render.write_json(results)
    return EXIT_FAILURE if any(r.status == "failed" for r in results) else 0
