"""Bulk data: 1 GiB through relay and through send/receive, checked by SHA-256;
a transfer cut short leaves no file under its final name."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from helpers import SOCKLAB

_procs: list[subprocess.Popen] = []


def spawn(*args, **kw):
    proc = subprocess.Popen(*args, **kw)
    _procs.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _close_pipes():
    yield
    while _procs:
        proc = _procs.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


GIB = 1 << 30
BLOCK = 16 << 20


def random_file(path, size):
    """`size` bytes of random data (each 16 MiB block drawn anew); returns the SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // BLOCK):
            data = os.urandom(BLOCK)
            f.write(data)
            digest.update(data)
    return digest.hexdigest()


def _listen_port(proc):
    line = proc.stderr.readline().decode()
    assert "listening on" in line, line
    return line.rsplit(":", 1)[1].strip()


def test_one_gib_through_send_and_receive(tmp_path):
    src = tmp_path / "big.bin"
    want = random_file(src, GIB)
    dst = tmp_path / "copy.bin"
    rx = spawn([*SOCKLAB, "receive", "tcp:127.0.0.1:0", str(dst)],
                          stderr=subprocess.PIPE)
    port = _listen_port(rx)
    tx = subprocess.run([*SOCKLAB, "send", str(src), f"tcp:127.0.0.1:{port}"],
                        capture_output=True, timeout=300)
    assert rx.wait(timeout=300) == 0
    assert tx.returncode == 0, tx.stderr
    digest = hashlib.sha256()
    with open(dst, "rb") as f:
        while chunk := f.read(BLOCK):
            digest.update(chunk)
    assert digest.hexdigest() == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "copy.bin"]


def test_one_gib_through_relay(tmp_path):
    """client -> socklab relay --listen -> a Python sink, both ends hashing."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen()
    result = {}

    def consume():
        conn, _ = sink.accept()
        digest = hashlib.sha256()
        buf = bytearray(1 << 20)
        total = 0
        while n := conn.recv_into(buf):
            digest.update(memoryview(buf)[:n])
            total += n
        conn.sendall(b"done")  # through the relay the other way, after the half-close
        conn.close()
        result["sha"], result["n"] = digest.hexdigest(), total

    t = threading.Thread(target=consume)
    t.start()
    relay = spawn([*SOCKLAB, "relay", "--listen", "tcp:127.0.0.1:0",
                              f"tcp:127.0.0.1:{sink.getsockname()[1]}"], stderr=subprocess.PIPE)
    port = int(_listen_port(relay))
    client = socket.create_connection(("127.0.0.1", port), 10)
    sent = hashlib.sha256()
    block = os.urandom(BLOCK)
    for i in range(GIB // BLOCK):
        data = block if i % 2 == 0 else block[::-1]
        sent.update(data)
        client.sendall(data)
    client.shutdown(socket.SHUT_WR)
    client.settimeout(60)
    assert client.recv(10) == b"done"  # half-close passed through, answer came back
    client.close()
    t.join(60)
    assert relay.wait(timeout=60) == 0
    sink.close()
    assert result == {"sha": sent.hexdigest(), "n": GIB}


def test_sender_killed_halfway_leaves_no_file(tmp_path):
    """The receiver sees the transfer cut short: exit 1, nothing under the final name."""
    dst = tmp_path / "never.bin"
    rx = spawn([*SOCKLAB, "receive", "tcp:127.0.0.1:0", str(dst)],
                          stderr=subprocess.PIPE)
    port = int(_listen_port(rx))
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"SOCKLAB-FILE 1 1000000 never.bin\n" + b"x" * 500000)
    time.sleep(0.2)
    s.close()  # the "sender" dies halfway
    assert rx.wait(timeout=30) == 1
    err = rx.stderr.read().decode()
    assert err.count("\n") == 1 and "500000 of 1000000" in err
    assert not dst.exists() and list(tmp_path.iterdir()) == []


def test_receiver_killed_halfway_leaves_no_final_file(tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(64 << 20))
    dst = tmp_path / "out" / "data.bin"
    dst.parent.mkdir()
    rx = spawn([*SOCKLAB, "receive", "tcp:127.0.0.1:0", str(dst)],
                          stderr=subprocess.PIPE)
    port = int(_listen_port(rx))
    tx = spawn([*SOCKLAB, "send", str(src), f"tcp:127.0.0.1:{port}"],
                          stderr=subprocess.PIPE)
    time.sleep(0.05)
    rx.send_signal(signal.SIGKILL)
    rx.wait()
    assert tx.wait(timeout=30) in (0, 1)
    assert not dst.exists()  # at most a hidden .part file, never the final name


def test_corrupted_data_is_refused(tmp_path):
    dst = tmp_path / "bad.bin"
    rx = spawn([*SOCKLAB, "receive", "tcp:127.0.0.1:0", str(dst)],
                          stderr=subprocess.PIPE)
    port = int(_listen_port(rx))
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"SOCKLAB-FILE 1 5 bad.bin\nhello" + b"0" * 64 + b"\n")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    assert s.recv(100).startswith(b"ERR SHA-256 mismatch")
    s.close()
    assert rx.wait(timeout=10) == 1 and not dst.exists()
