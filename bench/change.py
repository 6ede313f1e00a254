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
import uuid

from _common import SOCKLAB, peak_rss, report
from _common import run_once as run_command

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


# where a snapshot's time goes, each step's CPU ms, in one process
SNAPSHOT_STEPS = """
import time
c = [time.process_time()]
from socklab.stack import read, snapshot
from socklab.cli import render
c.append(time.process_time())
routes = []
for step in (lambda: read.links(source="netlink"), lambda: read.addresses(source="netlink"),
             lambda: routes.extend(snapshot._records(read.routes(source="netlink"),
                                                     snapshot.Route)),
             lambda: read.rules(), lambda: read.neighbours(source="netlink"),
             lambda: snapshot.net_sysctls()):
    step()
    c.append(time.process_time())
encode = render._item_encoder(ensure_ascii=False)
text = ",".join(encode(item) for item in routes)
c.append(time.process_time())
print(*[(b - a) * 1000 for a, b in zip(c, c[1:])])
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


class Runs:
    """Wall and CPU (user + system, from wait4) times of a command's runs, in seconds."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []


def run_once(cmd: list[str], into: Runs) -> None:
    wall, cpu = run_command(cmd)
    into.wall.append(wall)
    into.cpu.append(cpu)


def rounds(cmds: list[list[str]], runs: int, before: list[str] | None = None) -> list[Runs]:
    """``runs`` rounds, the commands taking turns within a round (a load from elsewhere
    on this shared machine falls on all of them), ``before`` run first each time (the
    routes flushed: each batch must start from the same table)."""
    out = [Runs() for _ in cmds]
    for _ in range(runs):
        for cmd, into in zip(cmds, out, strict=True):
            if before:
                subprocess.run(before, check=True)
            run_once(cmd, into)
    return out


def row(label: str, r: Runs, peak: int, base: Runs | None) -> tuple[str, float, int, str]:
    """A report row: median wall, peak, and the ratios to ``base`` (wall per round, CPU)."""
    wall = statistics.median(r.wall)
    cpu = statistics.median(r.cpu) * 1000
    if base is None:
        return label, wall, peak, f"CPU {cpu:.0f} ms; wall {spread(r.wall)}"
    per = sorted(w / b for w, b in zip(r.wall, base.wall, strict=True))
    return label, wall, peak, (f"{wall / statistics.median(base.wall):.2f}x wall (rounds "
                               f"{per[0]:.2f}-{per[-1]:.2f}x), CPU {cpu:.0f} ms = "
                               f"{cpu / 1000 / statistics.median(base.cpu):.2f}x")


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
            ip_r, sl_r = rounds([ip_cmd, sl_cmd], args.runs,
                                before=["ip", "-n", ns, "route", "flush", "proto", "boot"])
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
        print(f"{args.routes} routes added in namespace {ns}, {args.runs} rounds\n")
        report([row(f"ip -batch ({args.routes} route add)", ip_r, ip_m, None),
                row("socklab -batch (the same file)", sl_r, sl_m, ip_r)])
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
        cmds = [[*ex, "sh", "-c", five], [*ex, SOCKLAB, "snapshot", "--no-sysctl"],
                [*ex, SOCKLAB, "snapshot"]]
        ip_r, no_r, sl_r = rounds(cmds, args.runs)
        ip_m, no_m, sl_m = (peak_rss(cmd) for cmd in cmds)
        steps = []
        for _ in range(args.runs):
            out = subprocess.run([*ex, sys.executable, "-c", SNAPSHOT_STEPS], check=True,
                                 capture_output=True, text=True).stdout
            steps.append([float(x) for x in out.split()])
        print(f"\nsnapshot of 300 interfaces and {args.routes} routes, {args.runs} rounds\n")
        report([row("the five ip -j commands", ip_r, ip_m, None),
                row("socklab snapshot --no-sysctl (the same objects)", no_r, no_m, ip_r),
                row("socklab snapshot (and every net.* sysctl)", sl_r, sl_m, ip_r)])
        med = [statistics.median(col) for col in zip(*steps, strict=True)]
        names = ("import", "links", "addresses", "routes", "rules", "neighbours", "sysctls",
                 "routes' JSON")
        print("\ninside socklab (median CPU ms): " + ", ".join(
            f"{name} {ms:.0f}" for name, ms in zip(names, med, strict=True)))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
