"""Changing the stack: 10,000 routes added in one process, and a snapshot, against ip.

Run as root: .venv/bin/python bench/change.py [--runs 3] [--routes 10000]
Everything runs inside namespaces this script makes (and deletes). Compared in
the same run, whole processes timed alike:
  socklab -batch FILE  vs  ip -batch FILE (10,000 route add lines), and where
      socklab's time goes: start-up and imports, planning (parse and check every
      line), sending (pipelined), measured inside one process
  socklab snapshot (300 links, 10,000 routes)  vs  ip -j link; ip -j addr;
      ip -j route show table all; ip -j neigh; ip -j rule, one after the other
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from _common import SOCKLAB, measure, peak_rss, report

# the library's batch in one process, each step timed (wall ms, CPU ms)
STEPS = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
from socklab.stack import batch
t1, c1 = time.perf_counter(), time.process_time()
with open(sys.argv[1]) as f:
    lines = f.read().splitlines()
planned = batch.plan(lines)
t2, c2 = time.perf_counter(), time.process_time()
result = batch.run(lines)  # plans again, then sends
t3, c3 = time.perf_counter(), time.process_time()
assert result.ok
send, send_cpu = (t3 - t2) - (t2 - t1), (c3 - c2) - (c2 - c1)
print((t1 - t0) * 1000, (c1 - c0) * 1000, (t2 - t1) * 1000, (c2 - c1) * 1000,
      send * 1000, send_cpu * 1000)
"""


def route_lines(n: int) -> list[str]:
    return [f"route add 10.{i // 256}.{i % 256}.0/24 via 10.255.0.{2 + i % 200}"
            for i in range(n)]


def make_ns(pairs: int) -> str:
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    lines = ["link set lo up", "link add a0 type veth peer name b0", "link set a0 up",
             "link set b0 up", "addr add 10.255.0.1/16 dev a0"]
    for i in range(1, pairs):
        lines += [f"link add a{i} type veth peer name b{i}", f"link set a{i} up",
                  f"link set b{i} up"]
    subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines), text=True,
                   check=True)
    return ns


def flush(ns: str) -> None:
    subprocess.run(["ip", "-n", ns, "route", "flush", "proto", "boot"], check=True)


def timed_batches(ns: str, cmds: list[list[str]], runs: int) -> list[list[float]]:
    """Wall times of each command, ``runs`` rounds, the commands taking turns within a
    round (a load from elsewhere on the machine falls on both), the routes flushed
    before each (each run must start from the same table)."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            flush(ns)
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[i].append(time.perf_counter() - t0)
    return times


def flushed_peak(ns: str, cmd: list[str]) -> int:
    flush(ns)
    return peak_rss(cmd)


def spread(times: list[float]) -> str:
    return f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--routes", type=int, default=10000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/change.py needs root (it makes network namespaces)")
    ns = make_ns(1)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
            batch.write("\n".join(route_lines(args.routes)) + "\n")
            batch.flush()
            ex = ["ip", "netns", "exec", ns]
            ip_cmd = [*ex, "ip", "-batch", batch.name]
            sl_cmd = [*ex, SOCKLAB, "-batch", batch.name]
            ip_ts, sl_ts = timed_batches(ns, [ip_cmd, sl_cmd], args.runs)
            ip_m, sl_m = flushed_peak(ns, ip_cmd), flushed_peak(ns, sl_cmd)
            count = subprocess.run(["ip", "-n", ns, "route", "show", "proto", "boot"],
                                   capture_output=True, text=True).stdout.count("\n")
            assert count == args.routes, count
            steps = []
            for _ in range(args.runs):
                flush(ns)
                out = subprocess.run([*ex, sys.executable, "-c", STEPS, batch.name],
                                     check=True, capture_output=True, text=True).stdout
                steps.append([float(x) for x in out.split()])
        ip_t, sl_t = statistics.median(ip_ts), statistics.median(sl_ts)
        ratios = sorted(s / i for s, i in zip(sl_ts, ip_ts, strict=True))
        print(f"{args.routes} routes added in namespace {ns}, {args.runs} rounds\n")
        report([(f"ip -batch ({args.routes} route add)", ip_t, ip_m, spread(ip_ts)),
                ("socklab -batch (the same file)", sl_t, sl_m,
                 f"{sl_t / ip_t:.2f}x ip (per round {ratios[0]:.2f}-{ratios[-1]:.2f}x)")])
        med = [statistics.median(col) for col in zip(*steps, strict=True)]
        print(f"\ninside socklab (median wall / CPU ms): import {med[0]:.0f} / {med[1]:.0f}, "
              f"plan {med[2]:.0f} / {med[3]:.0f} ({med[3] * 1000 / args.routes:.1f} us CPU a "
              f"line), send {med[4]:.0f} / {med[5]:.0f}")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    ns = make_ns(150)  # 300 interfaces
    try:
        subprocess.run(["ip", "-n", ns, "-batch", "-"], text=True, check=True,
                       input="\n".join(route_lines(args.routes)))
        ex = ["ip", "netns", "exec", ns]
        five = "ip -j link; ip -j addr; ip -j route show table all; ip -j neigh; ip -j rule"
        ip_t, ip_m = measure([*ex, "sh", "-c", five], args.runs)
        sl_t, sl_m = measure([*ex, SOCKLAB, "snapshot"], args.runs)
        no_t, no_m = measure([*ex, SOCKLAB, "snapshot", "--no-sysctl"], args.runs)
        print("\nsnapshot of 300 interfaces and", args.routes, "routes\n")
        report([("the five ip -j commands", ip_t, ip_m, ""),
                ("socklab snapshot --no-sysctl (the same objects)", no_t, no_m,
                 f"{no_t / ip_t:.2f}x ip"),
                ("socklab snapshot (and every net.* sysctl)", sl_t, sl_m,
                 f"{sl_t / ip_t:.2f}x ip")])
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
