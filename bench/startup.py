"""Start-up cost: whole-process time of socklab commands against `python -c pass`.

Run: .venv/bin/python bench/startup.py [--runs N]
Everything runs from the same virtual environment as this interpreter, never a shim.
Prints the median of N runs, the difference to `python -c pass`, and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import socklab'", [sys.executable, "-c", "import socklab"]),
    ("socklab --help", [str(BIN / "socklab"), "--help"]),
    ("socklab tour --list --json", [str(BIN / "socklab"), "tour", "--list", "--json"]),
    ("socklab tour tcp", [str(BIN / "socklab"), "tour", "tcp"]),
]


def measure(cmd: list[str], runs: int) -> tuple[float, int]:
    times = []
    peak = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - t0)
        peak = max(peak, usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) not in (0,):
            raise SystemExit(f"{cmd} exited {status}")
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    subprocess.run(CASES[0][1], check=True)  # warm the page cache
    base, _ = measure(CASES[0][1], args.runs)
    print(f"{'command':34} {'median ms':>10} {'over python':>12} {'peak RSS KiB':>13}")
    for name, cmd in CASES:
        t, peak = measure(cmd, args.runs)
        print(f"{name:34} {t * 1000:10.1f} {(t - base) * 1000:+11.1f} {peak:13d}")


if __name__ == "__main__":
    main()
