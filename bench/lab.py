"""Labs: 'socklab lab up' + 'lab down' of the course's lab 1 and of a 20-node lab
(10 hosts, 4 routers, 2 switches), whole processes, and the cost per node.

Run as root: .venv/bin/python bench/lab.py [--runs 5]
Targets: lab 1 up and down in under 1 s, the 20-node lab in under 3 s. Everything
is made in namespaces named sl-LAB-*, removed by 'lab down' after each run.

Mininet, when its Debian package is installed (apt-get install mininet: it runs on the
system's /usr/bin/python3), builds the same 20 nodes side by side: hosts and routers
as Mininet hosts, the switches as Linux bridges (no Open vSwitch, no controller), the
whole Mininet process run inside a namespace this script makes, so that the switches
and their ports (which Mininet puts in its own namespace) never touch the host's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import SOCKLAB


def twenty(name: str) -> str:
    """h0-h4 on switch s1 with r0; h5-h9 on s2 with r3; r0-r1-r2-r3 in a line."""
    out = [f'name = "{name}"']
    for i in range(10):
        lan = 1 if i < 5 else 2
        gw = "10.0.1.1" if lan == 1 else "10.0.2.1"
        out.append(f'[nodes.h{i}]\ninterfaces.eth0.addresses = ["10.0.{lan}.{10 + i}/24"]\n'
                   f'routes = [{{ to = "default", via = "{gw}" }}]')
    core = {0: ("10.0.1.1/24", None, "10.9.1.1/30"), 1: (None, "10.9.1.2/30", "10.9.2.1/30"),
            2: (None, "10.9.2.2/30", "10.9.3.1/30"), 3: ("10.0.2.1/24", "10.9.3.2/30", None)}
    for r, (lan, left, right) in core.items():
        lines = [f'[nodes.r{r}]', 'kind = "router"']
        if lan:
            lines.append(f'interfaces.lan.addresses = ["{lan}"]')
        if left:
            lines.append(f'interfaces.left.addresses = ["{left}"]')
        if right:
            lines.append(f'interfaces.right.addresses = ["{right}"]')
        out.append("\n".join(lines))
    for r in range(3):
        out.append(f'[[links]]\nendpoints = ["r{r}:right", "r{r + 1}:left"]')
    out.append('[switches.s1]\nports = ["r0:lan", ' +
               ", ".join(f'"h{i}:eth0"' for i in range(5)) + "]")
    out.append('[switches.s2]\nports = ["r3:lan", ' +
               ", ".join(f'"h{i}:eth0"' for i in range(5, 10)) + "]")
    return "\n".join(out) + "\n"


MININET = """
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
net = Mininet(switch=LinuxBridge, controller=None, autoSetMacs=True, build=False)
s1, s2 = net.addSwitch("s1"), net.addSwitch("s2")
rs = [net.addHost(f"r{i}") for i in range(4)]
for i in range(10):
    net.addLink(net.addHost(f"h{i}"), s1 if i < 5 else s2)
net.addLink(rs[0], s1)
net.addLink(rs[3], s2)
for a, b in zip(rs, rs[1:]):
    net.addLink(a, b)
net.build()
net.start()
for r in rs:
    r.cmd("sysctl -w net.ipv4.ip_forward=1")
net.stop()
"""


def mininet(runs: int) -> float | None:
    """Median whole-process time of Mininet building and stopping the 20 nodes, or None
    when it is not installed."""
    probe = subprocess.run(["/usr/bin/python3", "-c", "import mininet.net"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    ns = f"bench-mn-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", MININET],
                           check=True, capture_output=True, timeout=120)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def cycle(spec: str, name: str) -> tuple[float, float]:
    """Wall time of 'lab up SPEC' and of 'lab down NAME', each a whole process."""
    t0 = time.perf_counter()
    subprocess.run([SOCKLAB, "lab", "up", spec], check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    subprocess.run([SOCKLAB, "lab", "down", name], check=True, stdout=subprocess.DEVNULL)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/lab.py: run as root (network namespaces)")
    name = f"bench{os.getpid() % 10000}"
    with tempfile.TemporaryDirectory() as tmp:
        lab1 = os.path.join(tmp, "lab1.toml")
        from socklab.lab import shipped

        with open(lab1, "w") as f:
            f.write(shipped.text("lab1").replace('name = "lab1"', f'name = "{name}"', 1))
        big = os.path.join(tmp, "twenty.toml")
        with open(big, "w") as f:
            f.write(twenty(name))
        print(f"{'lab':<28} {'up (s)':>8} {'down (s)':>9} {'total':>7} {'per node':>9} target")
        for label, path, nodes, target in (("lab 1 (3 nodes, 2 links)", lab1, 3, 1.0),
                                           ("20 nodes (10 h, 4 r, 2 sw)", big, 20, 3.0)):
            ups, downs = [], []
            for _ in range(args.runs):
                u, d = cycle(path, name)
                ups.append(u)
                downs.append(d)
            up, down = statistics.median(ups), statistics.median(downs)
            total = up + down
            print(f"{label:<28} {up:>8.3f} {down:>9.3f} {total:>7.3f} "
                  f"{total / nodes * 1000:>7.1f}ms < {target:g} s "
                  f"{'ok' if total < target else 'MISSED'}")
        mn = mininet(args.runs)
        if mn is None:
            print("mininet: not installed (apt-get install mininet), not measured")
        else:
            print(f"{'mininet, 20 nodes (lxbr)':<28} {'':>8} {'':>9} {mn:>7.3f} "
                  f"{mn / 20 * 1000:>7.1f}ms   (one process: build, start, stop)")
    print(f"(medians of {args.runs} runs, whole processes: {SOCKLAB} lab up FILE; lab down)")


if __name__ == "__main__":
    main()
