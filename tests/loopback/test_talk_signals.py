"""SIGTERM and SIGHUP clean up as Ctrl-C does (no .part file, no socket file left) and
exit 128 + the signal's number."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
from helpers import SOCKLAB

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGHUP, id="SIGHUP")]
_procs: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _procs:
        proc = _procs.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _default_signals() -> None:
    """As a shell started from a terminal would: the signals not ignored (nohup)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def start(*argv: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([*SOCKLAB, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_default_signals)
    _procs.append(proc)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening on" in line, line
    return proc, line


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("flags", [[], ["--echo", "-k"]], ids=["one-client", "keep-open"])
def test_listen_unix_removes_its_socket_file(unix_path, sig, flags):
    path = unix_path()
    proc, _ = start("listen", f"unix:{path}", *flags)
    assert os.path.exists(path)
    with socket.socket(socket.AF_UNIX) as c:
        if flags:  # the event loop, with a client connected
            c.connect(path)
            c.sendall(b"hi")
            c.settimeout(10)
            assert c.recv(2) == b"hi"
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    assert not os.path.exists(path)
    assert b"error" not in err


@pytest.mark.parametrize("sig", SIGNALS)
def test_receive_mid_transfer_removes_its_part_file(tmp_path, sig):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc, line = start("receive", "tcp:127.0.0.1:0", f"{inbox}/")
    s = socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), 10)
    s.sendall(b"SOCKLAB-FILE 1 100000000 big.bin\n" + b"x" * 1000000)
    for _attempt in range(200):  # until the temporary file holds data
        parts = [p for p in inbox.iterdir() if p.name.endswith(".part")]
        if parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no .part file appeared")
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    s.close()
    assert proc.returncode == 128 + sig, err
    assert list(inbox.iterdir()) == []
    assert b"internal error" not in err


def test_relay_child_ends_alone_and_the_parent_cleans_up(unix_path):
    """A forked relay child that gets SIGTERM ends without the parent's cleanup (the
    socket file stays, new clients are served); SIGTERM to the parent removes it."""
    path = unix_path()
    _echo, line = start("listen", "tcp:127.0.0.1:0", "--echo", "-k", "-q")
    relay, _ = start("relay", "--listen", "--fork", f"unix:{path}",
                     f"tcp:127.0.0.1:{line.rsplit(':', 1)[1].strip()}")
    first = socket.socket(socket.AF_UNIX)
    first.connect(path)
    first.sendall(b"one")
    first.settimeout(10)
    assert first.recv(3) == b"one"
    kids = children(relay.pid)
    assert len(kids) == 1
    os.kill(kids[0], signal.SIGTERM)
    assert first.recv(3) == b""  # that client's relay ended
    first.close()
    assert os.path.exists(path)
    second = socket.socket(socket.AF_UNIX)
    second.connect(path)
    second.sendall(b"two")
    second.settimeout(10)
    assert second.recv(3) == b"two"
    second.close()
    relay.send_signal(signal.SIGTERM)
    relay.communicate(timeout=30)
    assert relay.returncode == 143 and not os.path.exists(path)


def test_main_in_process_gives_the_handlers_back(monkeypatch, capsys):
    """main() raises Terminated from its own handler and puts the caller's back."""
    from socklab.cli import main as cli
    from socklab.cli import tour

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)

    def terminated(*a, **k):
        os.kill(os.getpid(), signal.SIGHUP)  # handled here, in the main thread
        raise AssertionError("the handler did not raise")

    monkeypatch.setattr(tour, "run", terminated)
    if before[1] is signal.SIG_DFL:
        assert cli.main(["tour"]) == 129
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before
