"""Capture during a bulk transfer: socklab sniff -w against tcpdump -w, in the same run.

Run (root): .venv/bin/python bench/sniff.py [--mib 1024] [--seconds 60] [--snaplen 262144]
In a network namespace it creates (and deletes), both capturers listen on its
loopback at once, with the same snapshot length and the same ring size (-B 2048
KiB, tcpdump's default), writing to tmpfs (/dev/shm); then one TCP connection
carries MIB mebibytes (or stops after SECONDS) from a client to a discarding
server over 127.0.0.1. Each line gives the packets written to the file (counted
by reading it back), tcpdump's three counters as each tool printed them, the
CPU time (user+system, from wait4) and the peak memory (VmHWM, read just
before the capture is stopped). Only the namespace's loopback carries traffic.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="bytes to send, in MiB")
    parser.add_argument("--seconds", type=float, default=60, help="stop sending after this")
    parser.add_argument("--snaplen", type=int, default=262144)
    parser.add_argument("--buffer-kib", type=int, default=2048)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/sniff.py: needs root (a network namespace and CAP_NET_RAW)")
    ns = f"slbench-{os.getpid()}"
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
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        for name, cmd in commands.items():
            p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stderr=subprocess.PIPE)
            procs[name] = p
            assert p.stderr is not None
            line = p.stderr.readline().decode()
            if "listening on" not in line:
                sys.exit(f"{name} did not start: {line}")
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", TRANSFER,
                              str(args.mib << 20), str(args.seconds)],
                             capture_output=True, text=True, check=True, timeout=600).stdout
        sent, elapsed = out.split()
        time.sleep(1)  # the last ring blocks time out and reach both readers
        peaks = {name: hwm_kib(p.pid) for name, p in procs.items()}
        rows = []
        for name, p in procs.items():
            p.send_signal(signal.SIGTERM)
            assert p.stderr is not None
            err = p.stderr.read().decode()
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            rows.append((name, records_in(files[name]), *counters(err),
                         usage.ru_utime + usage.ru_stime, peaks[name]))
        print(f"sent {int(sent) / 2**20:.0f} MiB over 127.0.0.1 in {float(elapsed):.2f} s; "
              f"snaplen {args.snaplen}, ring {args.buffer_kib} KiB")
        print(f"{'tool':8} {'in file':>9} {'captured':>9} {'received':>9} {'dropped':>8} "
              f"{'CPU s':>7} {'peak MiB':>9}")
        for name, in_file, cap, rec, drop, cpu, peak in rows:
            print(f"{name:8} {in_file:9d} {cap:9d} {rec:9d} {drop:8d} {cpu:7.2f} "
                  f"{peak / 1024:9.1f}")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for path in files.values():
            if os.path.exists(path):
                os.unlink(path)
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
