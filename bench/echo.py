"""Many small round trips, and many idle connections: socklab listen --echo --keep-open
against an asyncio Protocol server (on uvloop when installed) and a selectors server.

Run: .venv/bin/python bench/echo.py [--conns 1000] [--rounds 100] [--idle 10000]
Load: one client process, --conns connections, each doing --rounds round trips of
64 bytes (one in flight per connection). Idle: --idle connections held open,
the server's memory growth read from /proc/PID/status. Loopback only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time

from _common import SOCKLAB

ASYNCIO_SERVER = r"""
import asyncio, sys
try:
    import uvloop; uvloop.install(); name = "uvloop"
except ImportError:
    name = "asyncio"
class Echo(asyncio.Protocol):
    def connection_made(self, t): self.t = t
    def data_received(self, d): self.t.write(d)
async def main():
    srv = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0, backlog=4096)
    port = srv.sockets[0].getsockname()[1]
    print(f"listening on tcp:127.0.0.1:{port} {name}", file=sys.stderr, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""

SELECTORS_SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096); srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
print(f"listening on tcp:127.0.0.1:{srv.getsockname()[1]}", file=sys.stderr, flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            while True:
                try: c, _ = srv.accept()
                except BlockingIOError: break
                c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        else:
            c = key.fileobj
            try: d = c.recv(65536)
            except ConnectionError: d = b""
            if d: c.send(d)
            else: sel.unregister(c); c.close()
"""


def start(cmd: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    return proc, port


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its threads, in seconds: the scheduler's own
    count in nanoseconds (/proc/PID/task/*/schedstat, first field), not the
    10 ms ticks of utime + stime, which a few seconds of load round to 10%."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def user_seconds(pid: int) -> float:
    """utime of a process (/proc/PID/stat, ticks): the Python side of the CPU time."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load(port: int, conns: int, rounds: int) -> float:
    sel = selectors.DefaultSelector()
    msg = b"x" * 64
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    # warm-up: one request each
    for s in socks:
        s.send(msg)
    for s in socks:
        s.setblocking(True)
        s.recv(64)
        s.setblocking(False)
    left = {s.fileno(): rounds for s in socks}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    t0 = time.perf_counter()
    for s in socks:
        s.send(msg)
    pending = conns
    got = {s.fileno(): 0 for s in socks}
    while pending:
        for key, _ in sel.select():
            s = key.fileobj
            assert isinstance(s, socket.socket)
            fd = s.fileno()
            got[fd] += len(s.recv(4096))
            if got[fd] >= 64:
                got[fd] -= 64
                left[fd] -= 1
                if left[fd]:
                    s.send(msg)
                else:
                    pending -= 1
                    sel.unregister(s)
    elapsed = time.perf_counter() - t0
    for s in socks:
        s.close()
    return conns * rounds / elapsed


def idle(proc: subprocess.Popen[bytes], port: int, n: int) -> int:
    before = rss_kib(proc.pid)
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port)))
    socks[-1].sendall(b"ping")  # make sure the server has accepted them all
    socks[-1].recv(4)
    time.sleep(0.5)
    after = rss_kib(proc.pid)
    for s in socks:
        s.close()
    return after - before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5, help="runs per server (medians)")
    args = ap.parse_args()
    servers = [
        ("socklab listen --echo --keep-open",
         [SOCKLAB, "listen", "tcp:127.0.0.1:0", "--echo", "-k", "-q"]),
        ("asyncio Protocol server" + (" (uvloop)" if importlib.util.find_spec("uvloop")
                                      else " (no uvloop: pip install uvloop)"),
         [sys.executable, "-c", ASYNCIO_SERVER]),
        ("selectors server", [sys.executable, "-c", SELECTORS_SERVER]),
    ]
    # The load generator is the limit of requests/s here (one client process on two
    # cores), so the server's own CPU time per request is printed too: it does not
    # depend on how fast the client is.
    print(f"{'server':40} {'requests/s':>12} {'server CPU us/req':>18} {'of it user':>10} "
          f"{'idle growth':>12}")
    rates: dict[str, list[float]] = {name: [] for name, _ in servers}
    cpus: dict[str, list[float]] = {name: [] for name, _ in servers}
    users: dict[str, list[float]] = {name: [] for name, _ in servers}
    grown: dict[str, int] = {}
    for rep in range(args.repeat):  # servers interleaved, so drift hits all alike
        for name, cmd in servers:
            proc, port = start(cmd)
            try:
                cpu0, user0 = cpu_seconds(proc.pid), user_seconds(proc.pid)
                rates[name].append(load(port, args.conns, args.rounds))
                requests = args.conns * (args.rounds + 1)
                cpus[name].append((cpu_seconds(proc.pid) - cpu0) / requests * 1e6)
                users[name].append((user_seconds(proc.pid) - user0) / requests * 1e6)
                if rep == 0:
                    grown[name] = idle(proc, port, args.idle)
            finally:
                proc.kill()
                proc.wait()
    for name, _ in servers:
        print(f"{name:40} {statistics.median(rates[name]):12,.0f} "
              f"{statistics.median(cpus[name]):18.2f} {statistics.median(users[name]):10.2f} "
              f"{grown[name] / 1024:9.1f} MiB")
    # each run's ratio against the run of the other server just after it: the
    # machine's load drifts between runs, so the range says how far to trust them
    ours = servers[0][0]
    for name, _ in servers[1:]:
        rate_x = sorted(a / b for a, b in zip(rates[ours], rates[name], strict=True))
        cpu_x = sorted(a / b for a, b in zip(cpus[ours], cpus[name], strict=True))
        print(f"socklab / {name}: requests/s x{statistics.median(rate_x):.2f} "
              f"({rate_x[0]:.2f}-{rate_x[-1]:.2f}), CPU per request "
              f"x{statistics.median(cpu_x):.2f} ({cpu_x[0]:.2f}-{cpu_x[-1]:.2f}), "
              f"{args.repeat} runs")


if __name__ == "__main__":
    main()
