"""Probes against the tools people would use: a full port scan against nmap, a flood ping
against iputils ping, and the round-trip times both pings report on loopback.

Run as root: .venv/bin/python bench/probe.py [--runs 3]
Targets are 127.0.0.1 only. A few listeners are opened first; something else
on the machine may hold a port, so the open sets are compared, not assumed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import time

from _common import SOCKLAB, measure, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    listeners = []
    for _ in range(5):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        listeners.append(s)
    rows = []
    try:
        ours = json.loads(subprocess.run([SOCKLAB, "--json", "scan", "127.0.0.1", "-p-"],
                                         capture_output=True, text=True, check=True).stdout)
        open_ours = {r["port"] for r in ours if r["state"] == "open"}
        nmap_cmd = ["nmap", "-sT", "-p-", "-T5", "-n", "-Pn", "127.0.0.1"]
        if shutil.which("nmap"):
            out = subprocess.run([*nmap_cmd, "-oG", "-"], capture_output=True, text=True).stdout
            open_nmap = {int(p) for p in re.findall(r"(\d+)/open/tcp", out)}
            print(f"open ports: socklab {sorted(open_ours)}\n            nmap    "
                  f"{sorted(open_nmap)}  (same: {open_ours == open_nmap})\n")
            t_nmap = measure(nmap_cmd, args.runs)
            rows.append(("nmap -sT -p- -T5 -n -Pn 127.0.0.1", *t_nmap, ""))
        t_ours = measure([SOCKLAB, "scan", "127.0.0.1", "-p-"], args.runs)
        ratio = f"{t_ours[0] / t_nmap[0]:.2f}x nmap" if shutil.which("nmap") else ""
        rows.append(("socklab scan 127.0.0.1 -p-", *t_ours, ratio))
    finally:
        for s in listeners:
            s.close()
    n = 10000
    # Two rates each: whole process (start-up included), and during the run (each
    # tool's own "time" in its summary). Runs interleaved, medians of --runs.
    ping_whole, ping_run, ours_whole, ours_run, rtts, received = [], [], [], [], [], []
    ping_rtts: list[float] = []
    for _ in range(args.runs):
        if shutil.which("ping"):
            t0 = time.perf_counter()
            out = subprocess.run(["ping", "-f", "-q", "-c", str(n), "127.0.0.1"], check=True,
                                 capture_output=True, text=True).stdout
            ping_whole.append(time.perf_counter() - t0)
            m = re.search(r"time (\d+)ms", out)
            ping_run.append(int(m.group(1)) / 1000 if m else 0.001)
            m = re.search(r"= [\d.]+/([\d.]+)/", out)
            if m:
                ping_rtts.append(float(m.group(1)))
        t0 = time.perf_counter()
        out = subprocess.run([SOCKLAB, "--json", "ping", "-i", "0", "-c", str(n), "-W", "1",
                              "127.0.0.1"], capture_output=True, text=True, check=True).stdout
        ours_whole.append(time.perf_counter() - t0)
        result = json.loads(out)
        ours_run.append(max(result["time_ms"], 1) / 1000)
        rtts.append(result["rtt_avg"])
        received.append(result["received"])
    med = statistics.median
    if ping_whole:
        rows.append((f"ping -f -c {n} 127.0.0.1", med(ping_whole), 0,
                     f"{n / med(ping_whole):,.0f}/s whole, {n / med(ping_run):,.0f}/s in run"
                     + (f", rtt avg {med(ping_rtts):.3f} ms" if ping_rtts else "")))
    ratio = f" ({med(ping_run) / med(ours_run):.2f}x ping's rate in run)" if ping_run else ""
    rows.append((f"socklab ping -i 0 -c {n} 127.0.0.1", med(ours_whole), 0,
                 f"{n / med(ours_whole):,.0f}/s whole, {n / med(ours_run):,.0f}/s in run"
                 f"{ratio}, {min(received)} received at least, rtt avg {med(rtts):.3f} ms"))
    rows.append(rtt_row(args.runs))
    report(rows)


def rtt_row(runs: int) -> tuple[str, float, int, str]:
    """Median round trip on loopback, socklab against iputils ping in the same run
    (interleaved), from every reply's time: both take the receive time from the
    kernel (SO_TIMESTAMP(NS)), so the figures should agree (target: within 1.5x)."""
    import os

    root = os.geteuid() == 0
    n, interval = (100, "0.01") if root else (10, "0.2")  # below 0.2 s: root only
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        if shutil.which("ping"):
            out = subprocess.run(["ping", "-c", str(n), "-i", interval, "127.0.0.1"],
                                 capture_output=True, text=True, check=True).stdout
            theirs += [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]
        out = subprocess.run([SOCKLAB, "--json", "ping", "-c", str(n), "-i", interval,
                              "127.0.0.1"], capture_output=True, text=True, check=True).stdout
        ours += [r["rtt_ms"] for r in json.loads(out)["replies"] if r["rtt_ms"] is not None]
    med = statistics.median
    text = f"median rtt {med(ours):.4f} ms over {len(ours)} replies"
    if theirs:
        text += (f"; iputils ping {med(theirs):.4f} ms over {len(theirs)}: "
                 f"{med(ours) / med(theirs):.2f}x")
    return (f"socklab ping -c {n} -i {interval} 127.0.0.1 (rtt)", 0.0, 0, text)


if __name__ == "__main__":
    main()
