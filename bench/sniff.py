"""Capture during a bulk transfer: socklab sniff -w against tcpdump -w, in the same run.

Run (root): .venv/bin/python bench/sniff.py [--runs 3] [--mib 2048] [--seconds 30]
                                            [--snaplen 262144] [--buffer-kib 2048]
In a network namespace it creates (and deletes), both capturers listen on its
loopback at once, with the same snapshot length and the same ring size (-B 2048
KiB, tcpdump's default), writing to tmpfs (/dev/shm); then one TCP connection
carries MIB mebibytes (or stops after SECONDS) from a client to a discarding
server over 127.0.0.1. Each run prints, for each tool: the packets written to
the file (counted by reading it back), tcpdump's three counters as each tool
printed them (PACKET_STATISTICS: tcpdump's ring also takes the outgoing copy of
each packet on lo, so its "received" and "dropped" count each packet twice;
socklab's once), the share of the packets on lo that reached the file, the CPU
time (user+system, from wait4), the part of it spent after the tool said
"listening" (busy: no Python start-up in socklab's), that part per thousand
packets written (ms/1k) and the peak memory (VmHWM, read just before the
capture is stopped); then the ratios socklab/tcpdump. The last line gives the
ranges over the runs. Odd runs start socklab first, even runs tcpdump. Each run
is bounded: the transfer by SECONDS, the whole run by SECONDS + 60.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time

from _common import SOCKLAB

from socklab.capture import pcap

SHM = "/dev/shm"
TRANSFER = r"""
import socket, sys, threading, time
size, seconds = int(sys.argv[1]), float(sys.argv[2])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
def drain():
    conn, _ = srv.accept()
    while conn.recv(1 << 20):
        pass
t = threading.Thread(target=drain); t.start()
c = socket.create_connection(srv.getsockname())
block = bytes(1 << 20); sent = 0; t0 = time.monotonic()
while sent < size and time.monotonic() - t0 < seconds:
    c.sendall(block); sent += len(block)
c.close(); t.join()
print(sent, time.monotonic() - t0)
"""


def hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of ``pid`` so far (proc(5): /proc/PID/stat, fields 14
    and 15, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def records_in(path: str) -> int:
    reader = pcap.Reader()
    count = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            count += len(reader.feed(chunk))
    reader.close()
    return count


def counters(stderr: str) -> tuple[int, int, int]:
    def number(what: str) -> int:
        m = re.search(rf"(\d+) packets? {what}", stderr)
        return int(m.group(1)) if m else -1

    return number("captured"), number("received by filter"), number("dropped by kernel")


# tool, in file, captured, received, dropped, CPU s, CPU s after the start, peak KiB
Row = tuple[str, int, int, int, int, float, float, int]


def one_run(args: argparse.Namespace, run: int) -> tuple[list[Row], int, float]:
    """Both captures during one transfer: their rows, the bytes sent, the seconds."""
    ns = f"slbench-{os.getpid()}-{run}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    files = {"socklab": f"{SHM}/slbench-{os.getpid()}-socklab.pcap",
             "tcpdump": f"{SHM}/slbench-{os.getpid()}-tcpdump.pcap"}
    commands = {
        "socklab": [SOCKLAB, "sniff", "-i", "lo", "-w", files["socklab"], "-s",
                    str(args.snaplen), "-B", str(args.buffer_kib)],
        "tcpdump": ["tcpdump", "-i", "lo", "-w", files["tcpdump"], "-s", str(args.snaplen),
                    "-B", str(args.buffer_kib)],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    order = list(commands) if run % 2 else list(reversed(commands))  # no tool always first
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        for name in order:
            cmd = commands[name]
            p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stderr=subprocess.PIPE)
            procs[name] = p
            assert p.stderr is not None
            line = p.stderr.readline().decode()
            if "listening on" not in line:
                sys.exit(f"{name} did not start: {line}")
        # the CPU each has spent starting (Python's start-up, for socklab), left out
        # of "ms/1k": the CPU per packet is the capture's alone
        started = {name: cpu_seconds(p.pid) for name, p in procs.items()}
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", TRANSFER,
                              str(args.mib << 20), str(args.seconds)],
                             capture_output=True, text=True, check=True,
                             timeout=args.seconds + 60).stdout
        sent, elapsed = out.split()
        time.sleep(1)  # the last ring blocks time out and reach both readers
        peaks = {name: hwm_kib(p.pid) for name, p in procs.items()}
        rows: list[Row] = []
        for name in commands:
            p = procs[name]
            p.send_signal(signal.SIGTERM)
            assert p.stderr is not None
            err = p.stderr.read().decode()
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime
            rows.append((name, records_in(files[name]), *counters(err), cpu,
                         cpu - started[name], peaks[name]))
        return rows, int(sent), float(elapsed)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for path in files.values():
            if os.path.exists(path):
                os.unlink(path)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def span(values: list[float], fmt: str) -> str:
    return f"{min(values):{fmt}}-{max(values):{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="transfers, each captured by both")
    parser.add_argument("--mib", type=int, default=2048, help="bytes to send, in MiB")
    parser.add_argument("--seconds", type=float, default=30, help="stop sending after this")
    parser.add_argument("--snaplen", type=int, default=262144)
    parser.add_argument("--buffer-kib", type=int, default=2048)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/sniff.py: needs root (a network namespace and CAP_NET_RAW)")
    if not 1 <= args.runs <= 20 or not 0 < args.seconds <= 300:
        sys.exit("bench/sniff.py: --runs 1 to 20, --seconds up to 300")
    print(f"snaplen {args.snaplen}, ring {args.buffer_kib} KiB for both, {args.runs} runs")
    print(f"{'run':>3} {'tool':8} {'in file':>8} {'captured':>9} {'received':>9} "
          f"{'dropped':>8} {'of lo':>6} {'CPU s':>6} {'busy s':>6} {'ms/1k':>6} {'peak MiB':>8}")
    ratios: dict[str, list[float]] = {"file": [], "cpu": [], "cpu/pkt": [], "peak": []}
    shares: dict[str, list[float]] = {"socklab": [], "tcpdump": []}
    for run in range(1, args.runs + 1):
        rows, sent, elapsed = one_run(args, run)
        on_lo = max(rows[0][3], 1)  # socklab's "received": each packet on lo once
        for name, in_file, cap, rec, drop, cpu, busy, peak in rows:
            share = in_file / on_lo
            shares[name].append(share)
            print(f"{run:3d} {name:8} {in_file:8d} {cap:9d} {rec:9d} {drop:8d} "
                  f"{share:6.1%} {cpu:6.2f} {busy:6.2f} {1e6 * busy / max(in_file, 1):6.1f} "
                  f"{peak / 1024:8.1f}")
        (_, f1, *_, c1, b1, p1), (_, f2, *_, c2, b2, p2) = rows
        ratios["file"].append(f1 / max(f2, 1))
        ratios["cpu"].append(c1 / max(c2, 1e-3))
        ratios["cpu/pkt"].append((b1 / max(f1, 1)) / max(b2 / max(f2, 1), 1e-9))
        ratios["peak"].append(p1 / max(p2, 1))
        print(f"    sent {sent / 2**20:.0f} MiB in {elapsed:.2f} s; socklab/tcpdump: "
              f"in file {ratios['file'][-1]:.2f}, CPU {ratios['cpu'][-1]:.2f}, "
              f"CPU per packet {ratios['cpu/pkt'][-1]:.2f}, peak {ratios['peak'][-1]:.2f}")
    ahead = sum(r >= 1 for r in ratios["file"])
    print(f"ranges over {args.runs} runs: share of lo's packets in the file socklab "
          f"{span(shares['socklab'], '.1%')}, tcpdump {span(shares['tcpdump'], '.1%')}; "
          f"socklab/tcpdump in file {span(ratios['file'], '.2f')} (socklab at least "
          f"even in {ahead} of {args.runs}), CPU {span(ratios['cpu'], '.2f')}, "
          f"CPU per packet {span(ratios['cpu/pkt'], '.2f')}, "
          f"peak {span(ratios['peak'], '.2f')}")


if __name__ == "__main__":
    main()
