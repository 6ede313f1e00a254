"""Bulk throughput over loopback: socklab connect/listen/relay against socat, nc, ncat, iperf3.

Run: .venv/bin/python bench/talk.py [--gib 4]
A file of random bytes on tmpfs (/dev/shm) is sent by each client into a
discarding server on 127.0.0.1, and through a relay; each line prints the
rate in GB/s (1e9 bytes/s) and the peak memory of the slowest process.
Only loopback is used; every process stops by itself at end of data.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from _common import SOCKLAB

SHM = "/dev/shm"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_pair(server: list[str], client: list[str], data: str, size: int,
             ready: str | None = None) -> float:
    srv = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if ready:
            line = srv.stderr.readline().decode() if srv.stderr else ""
            assert ready in line, line
        else:
            time.sleep(0.3)
        t0 = time.perf_counter()
        with open(data, "rb") as f:
            subprocess.run(client, stdin=f, stdout=subprocess.DEVNULL, check=True, timeout=600)
        srv.wait(timeout=600)
        return size / (time.perf_counter() - t0) / 1e9
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.communicate()


def bare_pair(data: str, size: int) -> float:
    """The ceiling: a bare Python pair, 1 MiB sendall of bytes already in memory (as the
    issue measured it), recv_into a 1 MiB buffer on the other end."""
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def sink() -> None:
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        while conn.recv_into(buf):
            pass
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    c = socket.create_connection(srv.getsockname())
    t0 = time.perf_counter()
    chunk = memoryview(os.urandom(1 << 20))
    for _ in range(size >> 20):
        c.sendall(chunk)
    c.close()
    t.join()
    srv.close()
    return size / (time.perf_counter() - t0) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=4)
    args = ap.parse_args()
    size = int(args.gib * (1 << 30))
    data = os.path.join(SHM if os.path.isdir(SHM) else "/tmp", "socklab-bench.bin")
    with open(data, "wb") as f:
        block = os.urandom(1 << 24)
        for _ in range(size // len(block)):
            f.write(block)
    size = os.path.getsize(data)
    results = []
    try:
        results.append(("bare Python pair (sendall 1 MiB from memory / recv_into)",
                        bare_pair(data, size)))
        p = free_port()
        results.append(("socklab connect -> socklab listen --discard", run_pair(
            [SOCKLAB, "listen", f"tcp:127.0.0.1:{p}", "--discard"],
            [SOCKLAB, "connect", f"tcp:127.0.0.1:{p}"], data, size, "listening")))
        if shutil.which("socat"):
            for label, extra in (("socat -b 1048576", ["-b", "1048576"]), ("socat", [])):
                p = free_port()
                results.append((f"{label} -> {label}", run_pair(
                    ["socat", "-u", *extra, f"TCP-LISTEN:{p},bind=127.0.0.1", "OPEN:/dev/null"],
                    ["socat", "-u", *extra, "-", f"TCP:127.0.0.1:{p}"], data, size)))
        if shutil.which("nc"):
            p = free_port()
            results.append(("nc -> nc -l", run_pair(["nc", "-l", "127.0.0.1", str(p)],
                                                    ["nc", "-N", "127.0.0.1", str(p)],
                                                    data, size)))
        if shutil.which("ncat"):
            p = free_port()
            results.append(("ncat -> ncat -l", run_pair(
                ["ncat", "-l", "127.0.0.1", str(p), "--recv-only"],
                ["ncat", "--send-only", "127.0.0.1", str(p)], data, size)))
        # relay: client -> socklab relay -> socklab listen --discard
        p, q = free_port(), free_port()
        sink = subprocess.Popen([SOCKLAB, "listen", f"tcp:127.0.0.1:{q}", "--discard"],
                                stderr=subprocess.PIPE)
        assert sink.stderr is not None and "listening" in sink.stderr.readline().decode()
        results.append(("socklab connect -> socklab relay -> listen", run_pair(
            [SOCKLAB, "relay", "--listen", f"tcp:127.0.0.1:{p}", f"tcp:127.0.0.1:{q}"],
            [SOCKLAB, "connect", f"tcp:127.0.0.1:{p}"], data, size, "listening")))
        sink.wait(timeout=60)
        sink.communicate()
        # UNIX stream sockets: socklab and socat
        sock_path = os.path.join("/tmp", f"socklab-bench-{os.getpid()}.sock")
        results.append(("socklab unix: connect -> listen --discard", run_pair(
            [SOCKLAB, "listen", f"unix:{sock_path}", "--discard"],
            [SOCKLAB, "connect", f"unix:{sock_path}"], data, size, "listening")))
        if shutil.which("socat"):
            results.append(("socat -b 1048576 unix -> unix", run_pair(
                ["socat", "-u", "-b", "1048576", f"UNIX-LISTEN:{sock_path},unlink-early",
                 "OPEN:/dev/null"],
                ["socat", "-u", "-b", "1048576", "-", f"UNIX-CONNECT:{sock_path}"],
                data, size)))
        if shutil.which("iperf3"):
            p = free_port()
            srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(p), "-B", "127.0.0.1"],
                                   stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(p), "-n", str(size),
                                  "-f", "g"], capture_output=True, text=True).stdout
            srv.wait(timeout=60)
            m = re.findall(r"([\d.]+) Gbits/sec.*receiver", out)
            if m:
                results.append(("iperf3", float(m[-1]) / 8))
    finally:
        os.unlink(data)
    rates = dict(results)
    tcp_socat = rates.get("socat -b 1048576 -> socat -b 1048576")
    unix_socat = rates.get("socat -b 1048576 unix -> unix")
    print(f"{size / 1e9:.1f} GB over 127.0.0.1, {sys.platform}")
    bare = results[0][1]
    print(f"{'pair':48} {'GB/s':>6}  ratio")
    for name, rate in results:
        ref = unix_socat if "unix" in name else tcp_socat
        ratio = (f"{rate / ref:.2f}x socat -b 1048576 ({'unix' if 'unix' in name else 'tcp'})"
                 if ref else "")
        if "unix" not in name:
            ratio += f", {rate / bare:.0%} of the bare pair"
        print(f"{name:48} {rate:6.2f}  {ratio}")


if __name__ == "__main__":
    main()
