"""Changing the stack: 10,000 routes added in one process, and a snapshot, against ip.

Run as root: .venv/bin/python bench/change.py [--runs 3] [--routes 10000]
Everything runs inside namespaces this script makes (and deletes). Compared in
the same run, whole processes timed alike:
  socklab's library, routes added in one change.session()  vs  ip -batch FILE
  socklab snapshot (300 links, 10,000 routes)  vs  ip -j link; ip -j addr;
      ip -j route show table all; ip -j neigh; ip -j rule, one after the other
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

from _common import SOCKLAB, measure, report

ADD_ROUTES = """
import sys
from socklab.stack import change
n = int(sys.argv[1])
with change.session():
    for i in range(n):
        change.route_add(f"10.{i // 256}.{i % 256}.0/24", via=f"10.255.0.{2 + i % 200}")
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


def timed_batch(ns: str, cmd: list[str], runs: int) -> float:
    """Median wall time of ``runs``, the routes flushed before each (the run must start
    from the same table; measure() would run it once more for its peak memory)."""
    times = []
    for _ in range(runs):
        flush(ns)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
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
            ip_t = timed_batch(ns, [*ex, "ip", "-batch", batch.name], args.runs)
            sl_t = timed_batch(ns, [*ex, sys.executable, "-c", ADD_ROUTES, str(args.routes)],
                               args.runs)
        count = subprocess.run(["ip", "-n", ns, "route", "show", "proto", "boot"],
                               capture_output=True, text=True).stdout.count("\n")
        assert count == args.routes, count
        print(f"{args.routes} routes added in namespace {ns}\n")
        report([(f"ip -batch ({args.routes} route add)", ip_t, 0, ""),
                ("socklab change.session() route_add", sl_t, 0, f"{sl_t / ip_t:.2f}x ip")])
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
