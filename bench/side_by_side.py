"""Commands timed side by side: each round runs every command once, in turn, so a
change in the machine's load falls on all of them alike.

Run: .venv/bin/python bench/side_by_side.py [--runs 11] [--seconds 300] \
         'ss -tanp' '.venv/bin/socklab sockets -tanp' ...

Prints, per command, the median and range of the wall time and of the CPU time
(user + system, from wait4's rusage: on a busy machine it moves much less than
the wall time), then for each pair of commands given one after the other (1st
and 2nd, 3rd and 4th...) the median and range of the second's ratio to the
first's, round by round. stdout of the commands is discarded. Bounded: at most
``--runs`` rounds (50 at most), and no round is started after ``--seconds``.
With bench/sockets.py's holders (or any table) in place this compares
``socklab sockets -tanp`` and ``ss -tanp`` as docs/design.md reports them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import time

from _common import run_once  # importing _common byte-compiles socklab first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("commands", nargs="+")
    args = ap.parse_args()
    cmds = [shlex.split(c) for c in args.commands]
    wall: list[list[float]] = [[] for _ in cmds]
    cpu: list[list[float]] = [[] for _ in cmds]
    end = time.monotonic() + args.seconds
    for _ in range(min(args.runs, 50)):
        if time.monotonic() > end:
            break
        for i, cmd in enumerate(cmds):
            w, c = run_once(cmd)
            wall[i].append(w)
            cpu[i].append(c)
    print(f"{len(wall[0])} rounds, load average {os.getloadavg()[0]:.1f}")
    for label, series in (("wall", wall), ("CPU", cpu)):
        for text, ts in zip(args.commands, series, strict=True):
            print(f"{label:4} {text:48} median {statistics.median(ts) * 1000:7.1f} ms"
                  f"  range {min(ts) * 1000:.1f}-{max(ts) * 1000:.1f}")
        for i in range(0, len(cmds) - 1, 2):
            r = [b / a for a, b in zip(series[i], series[i + 1], strict=True)]
            print(f"{label:4} {args.commands[i + 1]} / {args.commands[i]}: median "
                  f"{statistics.median(r):.2f}x, range {min(r):.2f}-{max(r):.2f}")


if __name__ == "__main__":
    main()
