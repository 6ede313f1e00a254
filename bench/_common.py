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
    otherwise compile every module from source at every start of every run.
    Forced: a .pyc with the source's mtime second is kept by compileall even when
    the source changed within that second, and then refused at import."""
    import compileall

    import socklab

    compileall.compile_dir(Path(socklab.__file__).parent, quiet=1, force=True)


compile_sources()


def measure(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Median wall time (s) over ``runs`` and peak RSS (KiB) of a command, stdout discarded.

    The peak comes from one more run under GNU time: a child's own ru_maxrss would
    start at this Python's size, which Linux carries over the child's exec."""
    times = [run_once(cmd, env)[0] for _ in range(runs)]
    return statistics.median(times), peak_rss(cmd, env)


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, from wait4's rusage) of one run of
    ``cmd``, its stdout discarded; exits the benchmark if the command fails."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, env or os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def peak_rss(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Peak RSS in KiB of one run of ``cmd`` (GNU time's %M), or 0 without /usr/bin/time."""
    import subprocess
    import tempfile

    if not os.access("/usr/bin/time", os.X_OK):
        return 0
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], env=env,
                       stdout=subprocess.DEVNULL, check=True)
        return int(out.read().split()[-1])


def report(rows: list[tuple[str, float, int, str]]) -> None:
    """rows: (label, seconds, peak KiB, ratio text)."""
    print(f"{'command':48} {'median ms':>10} {'peak MiB':>9}  ratio")
    for label, t, peak, ratio in rows:
        print(f"{label:48} {t * 1000:10.1f} {peak / 1024:9.1f}  {ratio}")
