"""Reading the stack: 2,000 routes and 300 interfaces in a namespace, against ip and psutil.

Run as root: .venv/bin/python bench/stack.py [--runs 10]
Everything runs inside a namespace this script makes (and deletes), through
`ip netns exec` for every tool alike. Compared in the same run:
  socklab --json route   vs  ip -j route show table all
  socklab --json link    vs  ip -j link
  socklab --json link    vs  psutil.net_if_addrs() + net_if_stats()
and, on this machine, socklab --json link against `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid

from _common import SOCKLAB, measure, report


def build(ns: str, pairs: int, routes: int) -> None:
    subprocess.run(["ip", "netns", "add", ns], check=True)
    lines = ["link set lo up"]
    for i in range(pairs):
        lines += [f"link add a{i} type veth peer name b{i}", f"link set a{i} up",
                  f"link set b{i} up"]
    lines.append("addr add 10.255.0.1/16 dev a0")
    for i in range(routes):
        lines.append(f"route add 10.{i // 256}.{i % 256}.0/24 via 10.255.0.{2 + i % 200} "
                     f"dev a0 metric {i % 7}")
    subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines), text=True,
                   check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/stack.py needs root (it makes a network namespace)")
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    build(ns, 150, 2000)
    try:
        ex = ["ip", "netns", "exec", ns]
        n_routes = subprocess.run([*ex, "ip", "-j", "route", "show", "table", "all"],
                                  capture_output=True, text=True).stdout.count('"dst"')
        n_links = subprocess.run([*ex, "ip", "-j", "link"], capture_output=True,
                                 text=True).stdout.count('"ifname"')
        print(f"namespace {ns}: {n_links} interfaces, {n_routes} routes (all tables)\n")
        psutil_cmd = [sys.executable, "-c",
                      "import psutil; a = psutil.net_if_addrs(); s = psutil.net_if_stats()"]
        cases = {
            "ip -j route show table all": [*ex, "ip", "-j", "route", "show", "table", "all"],
            "socklab --json route": [*ex, SOCKLAB, "--json", "route"],
            "ip -j link": [*ex, "ip", "-j", "link"],
            "socklab --json link": [*ex, SOCKLAB, "--json", "link"],
            "psutil net_if_addrs + net_if_stats": [*ex, *psutil_cmd],
        }
        results = {k: measure(v, args.runs) for k, v in cases.items()}
        pairs = {"socklab --json route": "ip -j route show table all",
                 "socklab --json link": "ip -j link"}
        rows = []
        for label, (t, peak) in results.items():
            ratio = ""
            if label in pairs:
                ratio = f"{t / results[pairs[label]][0]:.2f}x {pairs[label]}"
            if label == "socklab --json link":
                p = results["psutil net_if_addrs + net_if_stats"][0]
                ratio += f"; psutil takes {p / t:.2f}x this time"
            rows.append((label, t, peak, ratio))
        report(rows)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    print("\nOn this machine (start-up overhead):")
    base = measure([sys.executable, "-c", "pass"], args.runs)
    link = measure([SOCKLAB, "--json", "link"], args.runs)
    report([("python -c pass", *base, ""),
            ("socklab --json link", *link, f"+{(link[0] - base[0]) * 1000:.1f} ms")])


if __name__ == "__main__":
    main()
