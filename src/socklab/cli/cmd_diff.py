"""What changed between two snapshots, or between a snapshot and the stack now.

Objects are matched by what names them (a link by name, a route by table,
destination and metric ...); counters and timers are not differences. Exit
status as diff(1): 0 when nothing changed, 1 when something did.

examples:
  socklab snapshot > before.json; sudo ifconfig eth0:1 10.0.0.9; socklab diff before.json
  socklab diff before.json after.json
  socklab --json diff before.json

classic: diff <(ip -j addr) ... (by hand)
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("before", metavar="BEFORE.json", help="a snapshot ('-' for stdin)")
    p.add_argument("after", nargs="?", metavar="AFTER.json",
                   help="another snapshot (default: the stack now, in --netns if given)")


def _load(path: str) -> dict[str, object]:
    from socklab.stack import snapshot
    from socklab.userfiles import read_input

    return snapshot.load(read_input(path, snapshot.MAX_BYTES, "diff"), path)


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackview_diff
    from socklab.stack import snapshot

    before = _load(args.before)
    after = _load(args.after) if args.after else snapshot.take()
    found = snapshot.diff(before, after)
    if args.json:
        render.write_json([stackview_diff.as_json(d) for d in found])
    else:
        print("\n".join(stackview_diff.lines(found)) if found else "no differences")
    return 1 if found else 0
