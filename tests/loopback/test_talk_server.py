"""socklab listen as a server of many clients: concurrency, admission, timeouts, resets."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest
from helpers import Listener, recv_exactly, run_cli


def test_keep_open_serves_2000_concurrent_clients():
    n = 2000
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "-q", "--max-clients", str(n))
    clients = []
    try:
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", srv.port), 10)
            clients.append(c)
        # all 2000 are connected at once before any is answered
        for i, c in enumerate(clients):
            c.sendall(f"client {i}\n".encode())
        for i, c in enumerate(clients):
            want = f"client {i}\n".encode()
            assert recv_exactly(c, len(want), i) == want
    finally:
        for c in clients:
            c.close()
    assert srv.finish(timeout=60)[0] == 0


def test_echo_to_a_client_that_reads_late_loses_nothing():
    """The client sends 16 MiB before reading anything: the server's sends fall
    short and the rest is queued, then sent in order; half-close ends it."""
    import hashlib
    import threading

    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "-q", "--max-clients", "1")
    data = os.urandom(1 << 20) * 16
    c = socket.create_connection(("127.0.0.1", srv.port), 30)

    def send() -> None:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.5)  # let the server's send buffer and queue fill before reading
    got = hashlib.sha256()
    size = 0
    while chunk := c.recv(1 << 20):
        got.update(chunk)
        size += len(chunk)
    sender.join()
    c.close()
    assert size == len(data) and got.digest() == hashlib.sha256(data).digest()
    assert srv.finish()[0] == 0


def test_a_client_reset_mid_stream_does_not_disturb_others():
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "--max-clients", "2")
    good = socket.create_connection(("127.0.0.1", srv.port), 5)
    bad = socket.create_connection(("127.0.0.1", srv.port), 5)
    bad.sendall(b"x" * 100000)
    bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    bad.close()  # RST
    good.sendall(b"still here\n")
    assert good.recv(100) == b"still here\n"
    good.close()
    code, _out, err = srv.finish()
    assert code == 0 and b"closed" in err


def test_max_conns_refuses_the_extra_client():
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "--max-conns", "2", "--max-clients", "3")
    a = socket.create_connection(("127.0.0.1", srv.port), 5)
    b = socket.create_connection(("127.0.0.1", srv.port), 5)
    a.sendall(b"a")
    assert a.recv(1) == b"a"
    b.sendall(b"b")
    assert b.recv(1) == b"b"
    c = socket.create_connection(("127.0.0.1", srv.port), 5)
    c.settimeout(5)
    assert c.recv(1) == b""  # accepted and closed at once
    for s in (a, b, c):
        s.close()
    for _attempt in range(100):  # a slot is free once the server has seen a or b close
        d = socket.create_connection(("127.0.0.1", srv.port), 5)
        d.settimeout(5)
        try:
            d.sendall(b"d")
            echoed = d.recv(1)
        except ConnectionResetError:  # refused: still two connections on its side
            echoed = b""
        d.close()
        if echoed == b"d":
            break
        time.sleep(0.05)
    else:
        pytest.fail("no slot was freed after two clients closed")
    code, _, err = srv.finish()
    assert code == 0 and b"too many connections" in err


@pytest.mark.parametrize("flags,allowed", [(["--deny", "127.0.0.0/8"], False),
                                           (["--allow", "10.0.0.0/8"], False),
                                           (["--allow", "127.0.0.1/32"], True),
                                           (["--allow", "127.0.0.0/8", "--deny",
                                             "127.0.0.1"], False)])
def test_allow_and_deny(flags, allowed):
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", *flags)
    try:
        c = socket.create_connection(("127.0.0.1", srv.port), 5)
        c.settimeout(5)
        try:
            c.sendall(b"hi")
            got = c.recv(2)
        except ConnectionResetError:
            got = b""
        c.close()
        assert (got == b"hi") == allowed
    finally:
        srv.kill()


def test_idle_timeout_closes_the_silent_client():
    """The server closes a client silent for --idle-timeout seconds. Its clock for
    the client starts at accept(), after this client began to connect: the close
    cannot come sooner than that long after ``start`` (one system-wide monotonic
    clock), however loaded the machine; a late close is not a failure."""
    srv = Listener("tcp:127.0.0.1:0", "--echo", "-k", "--idle-timeout", "0.5",
                   "--max-clients", "1")
    start = time.monotonic()
    c = socket.create_connection(("127.0.0.1", srv.port), 30)
    c.settimeout(60)
    assert c.recv(1) == b""
    assert time.monotonic() - start >= 0.5
    c.close()
    code, _, err = srv.finish()
    assert code == 0 and b"idle" in err


def _wait_logged(srv: Listener, word: bytes, count: int) -> None:
    """Read the server's stderr until ``count`` lines hold ``word`` (at most 60 s:
    a server that never says it fails the test instead of hanging it)."""
    import threading

    seen: list[bytes] = []

    def read() -> None:
        assert srv.proc.stderr is not None
        while len(seen) < count and (line := srv.proc.stderr.readline()):
            if word in line:
                seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    assert len(seen) == count, seen


def test_chat_relays_lines_to_the_others():
    srv = Listener("tcp:127.0.0.1:0", "--chat", "-k", "--max-clients", "2")
    a = socket.create_connection(("127.0.0.1", srv.port), 5)
    b = socket.create_connection(("127.0.0.1", srv.port), 5)
    _wait_logged(srv, b"connection from", 2)  # b is in the room before a speaks
    a.sendall(b"bonjour\n")
    b.settimeout(30)
    line = b.recv(200)
    assert line.endswith(b"> bonjour\n") and f":{a.getsockname()[1]}>".encode() in line
    a.close()
    b.close()
    assert srv.finish()[0] == 0


def test_chat_keeps_a_client_whose_unfinished_line_is_one_nul_byte():
    """The partial line and "the peer is done" are two things: a client that sent
    one NUL byte (no newline yet) stays in the room, and its line goes on with it."""
    srv = Listener("tcp:127.0.0.1:0", "--chat", "-k", "--max-clients", "2")
    a = socket.create_connection(("127.0.0.1", srv.port), 5)
    b = socket.create_connection(("127.0.0.1", srv.port), 5)
    a.settimeout(30)
    b.settimeout(30)
    _wait_logged(srv, b"connection from", 2)
    a.sendall(b"\0")
    b.sendall(b"hi\n")
    assert a.recv(200).endswith(b"> hi\n")  # a is still served
    a.sendall(b"x\n")
    line = b.recv(200)
    assert line.endswith(b"> \0x\n") and f":{a.getsockname()[1]}>".encode() in line
    a.close()
    b.close()
    assert srv.finish()[0] == 0


def test_unix_listener_mode_show_peer_and_stale_file(unix_path):
    path = unix_path()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # a socket file nobody listens on any more
    srv = Listener(f"unix:{path}", "--echo", "--mode", "600", "--show-peer")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    c.sendall(b"x")
    c.shutdown(socket.SHUT_WR)
    assert c.recv(1) == b"x"
    c.close()
    code, _, err = srv.finish()
    assert code == 0 and f"pid={os.getpid()} uid={os.getuid()}".encode() in err
    assert not os.path.exists(path)


def test_listen_refuses_to_remove_a_regular_file(tmp_path):
    target = tmp_path / "precious"
    target.write_text("do not delete")
    proc = run_cli("listen", f"unix:{target}")
    assert proc.returncode == 1 and b"not a socket" in proc.stderr
    assert target.read_text() == "do not delete"


def test_listen_refuses_a_path_in_use(unix_path):
    path = unix_path()
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen()
    try:
        proc = run_cli("listen", f"unix:{path}")
        assert proc.returncode == 1 and b"in use" in proc.stderr
        assert os.path.exists(path)
    finally:
        live.close()


def test_port_zero_prints_the_real_port():
    srv = Listener("tcp:127.0.0.1:0", "--echo", "--max-clients", "1")
    assert srv.port > 0
    socket.create_connection(("127.0.0.1", srv.port), 5).close()
    assert srv.finish()[0] == 0


def test_exec_needs_allow_exec_and_runs_per_client():
    proc = run_cli("listen", "tcp:127.0.0.1:0", "--exec", "rev")
    assert proc.returncode == 2 and b"--allow-exec" in proc.stderr
    srv = Listener("tcp:127.0.0.1:0", "--exec", "rev", "--allow-exec")
    c = socket.create_connection(("127.0.0.1", srv.port), 5)
    c.sendall(b"abc\n")
    c.shutdown(socket.SHUT_WR)
    c.settimeout(5)
    assert c.recv(10) == b"cba\n"
    c.close()
    assert srv.finish()[0] == 0


def test_exec_obeys_deny_before_running_anything(tmp_path):
    marker = tmp_path / "ran"
    srv = Listener("tcp:127.0.0.1:0", "--exec", f"touch {marker}", "--allow-exec",
                   "--deny", "127.0.0.0/8")
    c = socket.create_connection(("127.0.0.1", srv.port), 5)
    c.settimeout(5)
    assert c.recv(10) == b""  # closed at once
    c.close()
    srv.kill()
    assert not marker.exists()


@pytest.mark.parametrize("argv", [
    ["connect", "tcp:127.0.0.1"], ["connect", "bogus:1"], ["connect", "tcp:[::1:80"],
    ["connect", "tcp:h:99999"], ["connect", "stdio"], ["connect", "tcp:127.0.0.1:1", "-w", "0"],
    ["listen", "tcp:127.0.0.1:0", "--max-conns", "0"], ["listen", "unix:"],
    ["listen", "tcp::0", "--allow", "nonsense"], ["listen", "tcp::0", "--mode", "9z"],
    ["relay", "tcp:h:1"], ["relay", "--fork", "tcp::1", "tcp:h:1"],
    ["send", "/no/such/file", "tcp:127.0.0.1:9"], ["receive", "udp:127.0.0.1:0", "x"],
    ["connect", "tcp:no-such-host.invalid:80"],
])
def test_bad_input_is_exit_2_and_one_line(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2, (argv, proc.stderr)
    assert proc.stderr.decode().count("\n") == 1 and b"Traceback" not in proc.stderr

