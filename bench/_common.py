"""Shared by the benchmarks: whole-process timing with peak memory, and printing."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SOCKLAB = str(BIN / "socklab")


def compile_sources() -> None:
    """Byte-compile socklab first: with PYTHONDONTWRITEBYTECODE set, Python would
    otherwise compile every module from source at every start of every run."""
    import compileall

    import socklab

    compileall.compile_dir(Path(socklab.__file__).parent, quiet=1)


compile_sources()


def measure(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Median wall time (s) over ``runs`` and peak RSS (KiB) of a command, stdout discarded."""
    times, peak = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, env or os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - t0)
        peak = max(peak, usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd} exited with {os.waitstatus_to_exitcode(status)}")
    return statistics.median(times), peak


def report(rows: list[tuple[str, float, int, str]]) -> None:
    """rows: (label, seconds, peak KiB, ratio text)."""
    print(f"{'command':48} {'median ms':>10} {'peak MiB':>9}  ratio")
    for label, t, peak, ratio in rows:
        print(f"{label:48} {t * 1000:10.1f} {peak / 1024:9.1f}  {ratio}")
