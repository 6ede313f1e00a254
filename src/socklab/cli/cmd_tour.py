"""Walk through the course "les sockets" on this machine.

Each section explains a part of the course and does it for real: the socket
calls are shown as they happen (the same events as --trace), each socket named
by its role (fd 5 (accepted)). A section that needs a privilege this process
lacks says why and the tour goes on. The tour speaks English or French: --lang,
else the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, as gettext reads them).

examples:
  socklab tour                 the whole tour
  socklab tour 2.1.2           the sections of course 2.1.2 (a number selects its subsections)
  socklab tour tcp             only the TCP section
  LANG=fr_FR.UTF-8 socklab tour 1.1    the tour in French (or: socklab tour --lang fr)
  socklab tour --list          the sections, in course order
  socklab --trace=json tour    also every call as JSON lines on stderr
  socklab tour --html tour.html   the whole run as one HTML page, figures included
  socklab tour --html - 2.2.2 > page.html   the page alone on standard output

classic: the course's own Python and C snippets (socket.socket(socket.AF_INET,
socket.SOCK_STREAM), .bind() .listen() .accept(), int sfd = socket(...)), run line by line
in section 3.2 beside the calls they make
"""

from __future__ import annotations

import argparse
import sys

from socklab.errors import EXIT_FAILURE, BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sections", nargs="*", metavar="SECTION",
                   help="sections to run, by name or course number (default all)")
    p.add_argument("--list", action="store_true", help="list the sections and exit")
    p.add_argument("--lang", choices=["en", "fr"],
                   help="language of the tour (default: from the locale)")
    p.add_argument("--html", metavar="FILE",
                   help="also write the tour as one self-contained HTML page with SVG figures "
                        "(- : the page alone on standard output)")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, tour
    from socklab.cli.tour.lang import choose

    sections = tour.SECTIONS()
    unknown = [w for w in args.sections if not any(s.selected_by(w) for s in sections)]
    if unknown:
        names = ", ".join(s.name for s in sections)
        numbers = ", ".join(sorted({n for s in sections for n in s.numbers}))
        raise BadInput(f"unknown tour section {unknown[0]!r} "
                       f"(sections: {names}; course numbers: {numbers})")
    page_out = args.html == "-"  # the page alone on standard output (userfiles.STDOUT)
    if page_out and args.json:
        raise BadInput("--html - and --json both write to standard output: give --html a file")
    t = tour.Tour(None if args.json or page_out else sys.stdout, debug=args.debug,
                  lang=choose(args.lang))
    if args.list:
        rows = [{"name": s.name, "title": t._(s.title), "course": ", ".join(s.numbers)}
                for s in sections]
        render.emit(rows, [render.Column("name", "SECTION"), render.Column("course", "COURSE"),
                           render.Column("title", "TITLE", shrink=True)], args.json)
        return 0
    results = tour.run(t, args.sections or None)
    if args.html:
        from socklab.cli.tour.html import page as page_of

        _write_page(args.html, page_of(results, t._))
    if args.json:
        render.write_json(results)
    return EXIT_FAILURE if any(r.status == "failed" for r in results) else 0


def _write_page(path: str, text: str) -> None:
    """Write the page whole or not at all (a temporary file renamed into place)."""
    from socklab.userfiles import write_whole

    write_whole(path, text.encode("utf-8"))
