"""The socket table with 30,000 established TCP connections on loopback (60,000 rows).

Run: .venv/bin/python bench/sockets.py [--connections 30000] [--runs 5]
(root not needed; psutil is installed by 'make bench').

The connections are held by helper processes, at most 7,500 each (one process
may open at most 20,000 files here). Compared in the same run:
  socklab sockets -tan       vs  ss -tan
  socklab sockets -tanp      vs  ss -tanp
  socklab --json sockets -t  vs  psutil.net_connections('tcp'), netstat -tanp
Only loopback is used; the helpers exit when this script ends.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from _common import SOCKLAB, measure, report

# SO_LINGER 0 on the clients: when the helpers exit, their connections are reset
# instead of lingering in TIME-WAIT and swelling the next run's table.
HOLDER = r"""
import socket, struct, sys
n = int(sys.argv[1])
linger = struct.pack("ii", 1, 0)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096)
addr = srv.getsockname()
held = []
while len(held) < 2 * n:
    batch = []
    for _ in range(min(1000, n - len(held) // 2)):
        c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        c.connect(addr); batch.append(c)
    for c in batch:
        a, _ = srv.accept(); held += [c, a]
print("ready", flush=True)
sys.stdin.read()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    per = 7500
    holders = []
    left = args.connections
    try:
        while left > 0:
            n = min(per, left)
            p = subprocess.Popen([sys.executable, "-c", HOLDER, str(n)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            holders.append(p)
            left -= n
        for p in holders:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        count = int(subprocess.run(["ss", "-Htan"], capture_output=True, text=True)
                    .stdout.count("\n"))
        print(f"{args.connections} connections held by {len(holders)} processes; "
              f"ss -tan lists {count} TCP sockets\n")
        psutil_cmd = [sys.executable, "-c",
                      "import psutil; print(len(psutil.net_connections('tcp')))"]
        cases = [
            ("ss -tan", ["ss", "-tan"]),
            ("socklab sockets -tan", [SOCKLAB, "sockets", "-tan"]),
            ("ss -tanp", ["ss", "-tanp"]),
            ("socklab sockets -tanp", [SOCKLAB, "sockets", "-tanp"]),
            ("psutil.net_connections('tcp')", psutil_cmd),
            ("netstat -tanp", ["netstat", "-tanp"]),
            ("socklab --json sockets -t -a", [SOCKLAB, "--json", "sockets", "-t", "-a"]),
        ]
        results = {label: measure(cmd, args.runs) for label, cmd in cases}
        rows = []
        pairs = {"socklab sockets -tan": "ss -tan", "socklab sockets -tanp": "ss -tanp"}
        for label, (t, peak) in results.items():
            ratio = ""
            if label in pairs:
                ratio = f"{t / results[pairs[label]][0]:.2f}x {pairs[label]}"
            if label == "socklab --json sockets -t -a":
                ratio = ", ".join(f"{results[o][0] / t:.1f}x faster than {o}"
                                  for o in ("psutil.net_connections('tcp')", "netstat -tanp"))
            rows.append((label, t, peak, ratio))
        report(rows)
    finally:
        for p in holders:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
