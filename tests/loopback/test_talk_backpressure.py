"""Backpressure: clients that send and never read cannot grow the server's memory.

Each test floods a server with a client that never reads (up to 64 MiB, or 100 such
clients at once), watches the server's resident memory (VmRSS in /proc/PID/status)
and checks it stays under RSS_BOUND while another client is still served. A
watchdog kills a server that passes the bound, so that a regression fails the test
instead of eating the machine's memory.
"""

from __future__ import annotations

import os
import re
import select
import socket
import ssl
import subprocess
import threading

import pytest
from helpers import SOCKLAB, Listener, need_tool, recv_exactly

FLOOD = 64 << 20  # what each client tries to send
RSS_BOUND = 48 << 20
"""The listen process idles at about 15 MiB; 100 clients that never read add at most
(serve.HIGH_WATER + one 64 KiB read) each, about 13 MiB: 48 MiB leaves the allocator
room and is still far below one unbounded 64 MiB queue."""


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    assert m is not None
    return int(m.group(1)) * 1024


class Watch:
    """The peak RSS of some processes, sampled in a thread; a process over the bound
    is killed at once."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.peak = {pid: rss(pid) for pid in pids}
        self.killed: list[int] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.02):
            for pid in self.pids:
                try:
                    now = rss(pid)
                except (OSError, AssertionError):  # gone (killed, or ended)
                    continue
                self.peak[pid] = max(self.peak[pid], now)
                if now > RSS_BOUND and pid not in self.killed:
                    self.killed.append(pid)
                    os.kill(pid, 9)

    def stop(self) -> dict[int, int]:
        self._done.set()
        self._thread.join()
        return self.peak


def small_socket() -> socket.socket:
    """A client with small kernel buffers: the kernel holds little, the server the rest."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    return s


def flood(port: int, data: bytes = b"x" * 65536, tls: ssl.SSLContext | None = None,
          keep: list[socket.socket] | None = None) -> int:
    """Send up to FLOOD bytes and read nothing; stop when a send waited a second
    (the server stopped reading). Returns the bytes sent; the socket stays open in
    ``keep``."""
    s = small_socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    if tls is not None:
        s = tls.wrap_socket(s, server_hostname="localhost")
    if keep is not None:
        keep.append(s)
    s.settimeout(1)
    sent = 0
    try:
        while sent < FLOOD:
            sent += s.send(data)
    except (TimeoutError, ssl.SSLWantWriteError):
        pass
    except OSError:  # closed by the server (chat: too slow), or killed by the watchdog
        pass
    return sent


def round_trip(port: int, tls: ssl.SSLContext | None = None) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), 10)
    if tls is not None:
        c = tls.wrap_socket(c, server_hostname="localhost")
    c.settimeout(10)
    try:
        c.sendall(b"still served\n")
        return recv_exactly(c, 13, "round trip")
    finally:
        c.close()


def listening_port(line: bytes) -> int:
    m = re.search(rb"listening on .*:(\d+)\s*$", line)
    assert m is not None, line
    return int(m.group(1))


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    need_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return str(crt), str(key)


def client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.mark.parametrize("use_tls", [False, True], ids=["echo", "tls-echo"])
def test_echo_client_that_never_reads_stops_being_read(use_tls, cert):
    flags = ["--cert", cert[0], "--key", cert[1]] if use_tls else []
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "-q", *flags)
    tls = client_tls() if use_tls else None
    watch = Watch(srv.proc.pid)
    keep: list[socket.socket] = []
    try:
        sent = flood(srv.port, tls=tls, keep=keep)
        assert round_trip(srv.port, tls) == b"still served\n"
        peak = watch.stop()[srv.proc.pid]
        assert not watch.killed and peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
        assert sent < FLOOD  # the server stopped reading it: its sends stalled
    finally:
        watch.stop()
        close_all(keep)
        srv.kill()


def test_100_clients_that_never_read_and_one_that_does():
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "-q")
    watch = Watch(srv.proc.pid)
    keep: list[socket.socket] = []
    try:
        threads = [threading.Thread(target=flood, args=(srv.port,), kwargs={"keep": keep})
                   for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(keep) == 100
        assert round_trip(srv.port) == b"still served\n"
        peak = watch.stop()[srv.proc.pid]
        assert not watch.killed and peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
    finally:
        watch.stop()
        close_all(keep)
        srv.kill()


@pytest.mark.parametrize("line", [b"x" * 1023 + b"\n", b"x" * 1024], ids=["lines", "no-newline"])
def test_chat_closes_a_member_that_never_reads(line):
    """A talker floods the room (lines, or one endless line); the member that never
    reads is closed as too slow, the server's memory stays bounded, the room goes on."""
    srv = Listener("tcp:127.0.0.1:0", "--chat", "-k")
    watch = Watch(srv.proc.pid)
    keep: list[socket.socket] = []
    try:
        silent = small_socket()
        silent.connect(("127.0.0.1", srv.port))
        keep.append(silent)
        talker: list[socket.socket] = []
        flood(srv.port, line * 64, keep=talker)
        close_all(talker)
        a = socket.create_connection(("127.0.0.1", srv.port), 10)
        b = socket.create_connection(("127.0.0.1", srv.port), 10)
        keep += [a, b]
        b.settimeout(10)
        seen = b""
        for _attempt in range(1000):  # b may first get what the talker had sent
            if b"> bonjour\n" in seen:
                break
            if not select.select([b], [], [], 0.2)[0]:
                a.sendall(b"bonjour\n")
                continue
            chunk = b.recv(65536)
            assert chunk, "b was closed"
            seen = seen[-100:] + chunk
        assert b"> bonjour\n" in seen
        peak = watch.stop()[srv.proc.pid]
        assert not watch.killed and peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
    finally:
        watch.stop()
        close_all(keep)
        srv.proc.kill()
        err = srv.finish()[2]
    if line.endswith(b"\n"):
        assert b"too slow" in err


def test_stdin_is_not_read_while_a_client_lags():
    """stdio -k: what stdin brings goes to every client; one that never reads makes
    the server stop reading stdin (the pipe fills), and stdin flows again once it left."""
    proc = subprocess.Popen([*SOCKLAB, "listen", "tcp:127.0.0.1:0", "-k", "-q"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    port = listening_port(proc.stderr.readline())
    watch = Watch(proc.pid)
    silent = small_socket()
    try:
        silent.connect(("127.0.0.1", port))
        round_trip_ok = False
        fd = proc.stdin.fileno()
        os.set_blocking(fd, False)
        chunk = b"y" * 65536
        written = 0
        while written < FLOOD:
            _, w, _ = select.select([], [fd], [], 1)
            if not w:
                break  # the server stopped reading stdin
            try:
                written += os.write(fd, chunk)
            except BlockingIOError:
                continue
        peak = watch.stop()[proc.pid]
        assert not watch.killed and peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
        assert written < FLOOD
        silent.close()  # the laggard leaves: stdin is read again
        _, w, _ = select.select([], [fd], [], 30)
        round_trip_ok = bool(w)
        assert round_trip_ok
    finally:
        watch.stop()
        silent.close()
        proc.kill()
        proc.communicate()


def test_tls_exec_and_relay_stay_bounded(cert, tmp_path):
    """The blocking pumps (listen --exec over TLS, relay) hold one buffer per direction:
    a client that never reads is not read either, through the whole chain."""
    echo = Listener("tcp:127.0.0.1:0", "--echo", "-k", "-q")
    ex = Listener("tcp:127.0.0.1:0", "-k", "-q", "--cert", cert[0], "--key", cert[1],
                  "--exec", "cat", "--allow-exec")
    relay = subprocess.Popen([*SOCKLAB, "relay", "--listen", "tcp:127.0.0.1:0",
                              f"tcp:127.0.0.1:{echo.port}"],
                             stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert relay.stderr is not None
    relay_port = listening_port(relay.stderr.readline())
    watch = Watch(echo.proc.pid, ex.proc.pid, relay.pid)
    keep: list[socket.socket] = []
    try:
        sent_exec = flood(ex.port, tls=client_tls(), keep=keep)
        sent_relay = flood(relay_port, keep=keep)
        assert round_trip(ex.port, client_tls()) == b"still served\n"
        assert round_trip(echo.port) == b"still served\n"
        peaks = watch.stop()
        assert not watch.killed and max(peaks.values()) < RSS_BOUND, peaks
        assert sent_exec < FLOOD and sent_relay < FLOOD
    finally:
        watch.stop()
        close_all(keep)
        for srv in (echo, ex):
            srv.kill()
        relay.kill()
        relay.communicate()


def test_tls_chat_member_that_never_shakes_hands_is_closed(cert):
    """What waits for a TLS handshake that never comes is bounded too."""
    srv = Listener("tcp:127.0.0.1:0", "--chat", "-k", "--cert", cert[0], "--key", cert[1])
    watch = Watch(srv.proc.pid)
    keep: list[socket.socket] = []
    try:
        mute = small_socket()
        mute.connect(("127.0.0.1", srv.port))  # no ClientHello, ever
        keep.append(mute)
        flood(srv.port, b"x" * 1023 + b"\n", tls=client_tls(), keep=keep)
        peak = watch.stop()[srv.proc.pid]
        assert not watch.killed and peak < RSS_BOUND, f"peak RSS {peak >> 20} MiB"
    finally:
        watch.stop()
        close_all(keep)
        srv.proc.kill()
        err = srv.finish()[2]
    assert b"waiting for its TLS handshake" in err
