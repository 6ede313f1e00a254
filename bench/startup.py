"""Start-up cost: whole-process time of small socklab commands against `python -c pass`.

Run: .venv/bin/python bench/startup.py [--runs N]
Everything runs from the same virtual environment as this interpreter, never a
shim, after byte-compiling socklab (see _common.compile_sources).
Target (issue 2): at most 40 ms above `python -c pass` for --help and small commands.
"""

from __future__ import annotations

import argparse
import sys

from _common import SOCKLAB, measure, report

CASES = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import socklab'", [sys.executable, "-c", "import socklab"]),
    ("socklab --help", [SOCKLAB, "--help"]),
    ("socklab tour --list --json", [SOCKLAB, "tour", "--list", "--json"]),
    ("socklab --json link", [SOCKLAB, "--json", "link"]),
    ("socklab route", [SOCKLAB, "route"]),
    ("socklab sysctl net.ipv4.ip_forward", [SOCKLAB, "sysctl", "net.ipv4.ip_forward"]),
    ("socklab sockets -tln", [SOCKLAB, "sockets", "-tln"]),
    ("socklab tour tcp", [SOCKLAB, "tour", "tcp"]),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    measure(CASES[0][1], 3)  # warm the page cache
    base = measure(CASES[0][1], args.runs)[0]
    rows = []
    for name, cmd in CASES:
        t, peak = measure(cmd, args.runs)
        rows.append((name, t, peak, f"+{(t - base) * 1000:.1f} ms over python"))
    report(rows)


if __name__ == "__main__":
    main()
