"""Bulk throughput over loopback: socklab connect/listen/relay against socat, nc, ncat, iperf3.

Run: .venv/bin/python bench/talk.py [--gib 4]
A file of random bytes on tmpfs (/dev/shm) is sent by each client into a
discarding server on 127.0.0.1, and through a relay; each line prints the
rate in GB/s (1e9 bytes/s), the peak memory (VmHWM, sampled) and the
ratio to socat -b 1048576 doing the same (a direct pair, a relay, UNIX).
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


class PeakRSS:
    """Samples VmHWM (/proc/PID/status) of some processes every 20 ms until stopped.

    Not wait4's ru_maxrss: Linux carries the forking parent's RSS over the exec,
    so every child would report at least this Python's size."""

    def __init__(self) -> None:
        import threading

        self.pids: list[int] = []
        self.kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for pid in list(self.pids):
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                self.kib = max(self.kib, int(line.split()[1]))
                except OSError:
                    pass

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.kib


def run_pair(server: list[str], client: list[str], data: str, size: int,
             ready: str | None = None) -> tuple[float, int]:
    """GB/s of ``client < data`` into ``server``, and the larger peak RSS (KiB) of the two."""
    srv = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = PeakRSS()
    peak.pids.append(srv.pid)
    try:
        if ready:
            line = srv.stderr.readline().decode() if srv.stderr else ""
            assert ready in line, line
        else:
            time.sleep(0.3)
        t0 = time.perf_counter()
        with open(data, "rb") as f:
            cli = subprocess.Popen(client, stdin=f, stdout=subprocess.DEVNULL)
        peak.pids.append(cli.pid)
        assert cli.wait(timeout=600) == 0, client
        if srv.stderr:
            srv.stderr.close()  # a chatty server must not block on a full pipe
        srv.wait(timeout=600)
        return size / (time.perf_counter() - t0) / 1e9, peak.stop()
    finally:
        peak.stop()
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def bare_pair(data: str, size: int) -> tuple[float, int]:
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
    import resource

    return size / (time.perf_counter() - t0) / 1e9, resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss


def one_round(data: str, size: int) -> list[tuple[str, tuple[float, int]]]:
    """Every pair once: (name, (GB/s, peak RSS KiB))."""
    results: list[tuple[str, tuple[float, int]]] = []
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
    if shutil.which("socat"):  # the same chain made of socat
        p, q = free_port(), free_port()
        sink = subprocess.Popen(["socat", "-u", "-b", "1048576",
                                 f"TCP-LISTEN:{q},bind=127.0.0.1", "OPEN:/dev/null"])
        time.sleep(0.3)
        results.append(("socat -b 1048576 -> socat relay -> socat", run_pair(
            ["socat", "-b", "1048576", f"TCP-LISTEN:{p},bind=127.0.0.1",
             f"TCP:127.0.0.1:{q}"],
            ["socat", "-u", "-b", "1048576", "-", f"TCP:127.0.0.1:{p}"], data, size)))
        sink.wait(timeout=60)
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
            results.append(("iperf3", (float(m[-1]) / 8, 0)))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="runs of every pair (medians)")
    args = ap.parse_args()
    size = int(args.gib * (1 << 30))
    data = os.path.join(SHM if os.path.isdir(SHM) else "/tmp", "socklab-bench.bin")
    with open(data, "wb") as f:
        block = os.urandom(1 << 24)
        for _ in range(size // len(block)):
            f.write(block)
    size = os.path.getsize(data)
    runs: list[list[tuple[str, tuple[float, int]]]] = []
    try:
        for _ in range(args.repeat):  # the pairs interleaved, so drift hits all alike
            runs.append(one_round(data, size))
    finally:
        os.unlink(data)
    import statistics

    results = [(name, (statistics.median(r[i][1][0] for r in runs),
                       max(r[i][1][1] for r in runs)))
               for i, (name, _) in enumerate(runs[0])]
    rates = {name: rate for name, (rate, _peak) in results}
    tcp_socat = rates.get("socat -b 1048576 -> socat -b 1048576")
    relay_socat = rates.get("socat -b 1048576 -> socat relay -> socat")
    unix_socat = rates.get("socat -b 1048576 unix -> unix")
    print(f"{size / 1e9:.1f} GB over 127.0.0.1, {sys.platform}, median of {args.repeat} "
          "runs; peak RSS is the larger "
          "of client and server (the relay's chain: client and relay)")
    bare = results[0][1][0]
    print(f"{'pair':58} {'GB/s':>6} {'peak RSS':>9}  ratio")
    for name, (rate, peak) in results:
        ref, what = ((unix_socat, "unix") if "unix" in name else
                     (relay_socat, "relay") if "relay" in name else (tcp_socat, "tcp"))
        ratio = f"{rate / ref:.2f}x socat -b 1048576 ({what})" if ref else ""
        if "unix" not in name:
            ratio += f", {rate / bare:.0%} of the bare pair"
        mem = f"{peak / 1024:6.1f} MiB" if peak else "       -"
        print(f"{name:58} {rate:6.2f} {mem:>9}  {ratio}")

if __name__ == "__main__":
    main()
