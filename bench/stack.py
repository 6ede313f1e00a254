"""Reading the stack: 2,000 routes and 300 interfaces in a namespace, against ip and psutil.

Run as root: .venv/bin/python bench/stack.py [--runs 10]
             .venv/bin/python bench/stack.py --scale [--full] [--runs 5]
Everything runs inside a namespace this script makes (and deletes), through
`ip netns exec` for every tool alike. Compared in the same run:
  socklab --json route   vs  ip -j route show table all
  socklab --json link    vs  ip -j link
  socklab --json link    vs  psutil.net_if_addrs() + net_if_stats()
and, on this machine, socklab --json link against `python -c pass`.

--scale: a router's tables. A namespace with 100,000 IPv4 routes, 20,000 IPv6
routes and 1,000 veth interfaces (--full: 1,000,000 IPv4 routes, added from an
`ip -batch` file), and, with peak memory, in one run:
  socklab route              vs  ip route show table all
  socklab --json route       vs  ip -j route show table all
  socklab route get X        vs  ip route get X
  socklab --json link        vs  ip -j link
  socklab --version          vs  python -c pass (the start-up in every figure)
  socklab.routes() iterated in one process vs pyroute2's IPRoute().get_routes()
                             (pyroute2 comes with the bench extra: pip install -e '.[bench]')
Each pair runs alternately, so the machine's load falls on both: ranges of times
and of the per-run ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid

from _common import SOCKLAB, measure, peak_rss, report, run_once


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


def build_scale(ns: str, pairs: int, v4: int, v6: int) -> None:
    """The router: ``pairs`` veth pairs, ``v4`` IPv4 /24 routes from 10.0.0.0 up and
    ``v6`` IPv6 /48 routes, all through a gateway on a0, added by ``ip -batch FILE``."""
    import tempfile

    subprocess.run(["ip", "netns", "add", ns], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
        batch.write("link set lo up\n")
        for i in range(pairs):
            batch.write(f"link add a{i} type veth peer name b{i}\nlink set a{i} up\n"
                        f"link set b{i} up\n")
        batch.write("addr add 192.168.0.1/16 dev a0\n"
                    "addr add 2001:db8:ffff::1/64 dev a0 nodad\n")
        for i in range(v4):
            batch.write(f"route add {10 + i // 65536}.{i // 256 % 256}.{i % 256}.0/24 "
                        f"via 192.168.0.{2 + i % 200} metric {i % 7}\n")
        for i in range(v6):
            batch.write(f"route add 2001:db8:{i:x}::/48 via 2001:db8:ffff::{2 + i % 200:x}\n")
        batch.flush()
        subprocess.run(["ip", "-n", ns, "-batch", batch.name], check=True)


IN_PROCESS = "import socklab\nn = 0\nfor _ in socklab.routes():\n    n += 1\nprint(n)\n"
PYROUTE2 = ("from pyroute2 import IPRoute\nwith IPRoute() as ipr:\n"
            "    n = sum(1 for _ in ipr.get_routes())\nprint(n)\n")


def _has_pyroute2() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyroute2") is not None


def side_by_side(cases: list[tuple[str, list[str], str, list[str]]], runs: int) -> None:
    """Each pair (socklab's command, the tool's) run alternately ``runs`` times, so the
    machine's load falls on both alike: the range of wall times of each, the range
    of the per-run ratios, and the peak memory of one more run of each."""

    def once(cmd: list[str]) -> float:
        return run_once(cmd)[0]

    print(f"{'command':44} {'ms (min-max)':>17} {'peak MiB':>9}  ratio per run (min-max)")
    for label, cmd, other_label, other in cases:
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(once(cmd))
            theirs.append(once(other))
        ratios = sorted(o / t for o, t in zip(ours, theirs, strict=True))
        for name, times, peak_cmd in ((other_label, theirs, other), (label, ours, cmd)):
            span = f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f}"
            ratio = f"{ratios[0]:.2f}-{ratios[-1]:.2f}x" if name == label else ""
            print(f"{name:44} {span:>17} {peak_rss(peak_cmd) / 1024:9.1f}  {ratio}")


def scale(args: argparse.Namespace) -> None:
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    v4 = 1_000_000 if args.full else 100_000
    build_scale(ns, 500, v4, 20_000)
    try:
        ex = ["ip", "netns", "exec", ns]
        n_routes = subprocess.run([*ex, "ip", "route", "show", "table", "all"],
                                  capture_output=True, text=True).stdout.count("\n")
        n_links = subprocess.run([*ex, "ip", "link"], capture_output=True,
                                 text=True).stdout.count("mtu")
        print(f"namespace {ns}: {n_links} interfaces, {n_routes} routes (all tables)\n")
        dst = "10.1.3.7"
        py = [*ex, sys.executable, "-c"]
        cases = [
            ("socklab route", [*ex, SOCKLAB, "route"],
             "ip route show table all", [*ex, "ip", "route", "show", "table", "all"]),
            ("socklab --json route", [*ex, SOCKLAB, "--json", "route"],
             "ip -j route show table all", [*ex, "ip", "-j", "route", "show", "table", "all"]),
            (f"socklab route get {dst}", [*ex, SOCKLAB, "route", "get", dst],
             f"ip route get {dst}", [*ex, "ip", "route", "get", dst]),
            ("socklab --json link", [*ex, SOCKLAB, "--json", "link"],
             "ip -j link", [*ex, "ip", "-j", "link"]),
            ("socklab --version (start-up)", [*ex, SOCKLAB, "--version"],
             "python -c pass", [*ex, sys.executable, "-c", "pass"]),
        ]
        side_by_side(cases, args.runs)
        print()
        if _has_pyroute2() and not args.full:  # it holds every route: 611 MiB at 123,000
            side_by_side([("socklab.routes() iterated (whole process)", [*py, IN_PROCESS],
                           "pyroute2 IPRoute().get_routes()", [*py, PYROUTE2])],
                         max(1, min(args.runs, 2)))
        else:
            t, peak = measure([*py, IN_PROCESS], args.runs)
            why = "with --full" if args.full else "not installed: pip install -e '.[bench]'"
            report([("socklab.routes() iterated (whole process)", t, peak,
                     f"pyroute2: not measured ({why})")])
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scale", action="store_true",
                    help="100,000 IPv4 + 20,000 IPv6 routes and 1,000 veth interfaces")
    ap.add_argument("--full", action="store_true", help="with --scale: 1,000,000 IPv4 routes")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/stack.py needs root (it makes a network namespace)")
    if args.scale or args.full:
        scale(args)
        return
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
