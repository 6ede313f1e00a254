"""send/receive against hostile senders and failing disks: the sender's name must be a
plain file name, every failure is one line with its reason (exit 1) and leaves no file
(final or partial), and the sender is told why."""

from __future__ import annotations

import os
import socket
import stat
import struct
import subprocess
import sys

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

_procs: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _procs:
        proc = _procs.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def receiver(*argv: str) -> tuple[subprocess.Popen[bytes], int]:
    """``socklab receive tcp:127.0.0.1:0 ...`` (or ``argv`` as given), and its port."""
    proc = subprocess.Popen(list(argv) or [*SOCKLAB, "receive", "tcp:127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _procs.append(proc)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening on" in line, line
    return proc, int(line.rsplit(":", 1)[1])


def one_error_line(err: bytes) -> str:
    text = err.decode()
    assert text.count("\n") == 1 and text.startswith("socklab: error: "), text
    assert "internal error" not in text
    return text


@pytest.mark.parametrize("name,why", [
    (b"..", "not a file name"), (b".", "not a file name"), (b"", "not a file name"),
    (b"%2E%2E", "not a file name"), (b"a%2Fb", "'/'"), (b"..%2F..%2Fetc%2Fx", "'/'"),
    (b"../x", "'/'"), (b"a%00b", "control character"), (b"a%0Ab", "control character"),
    (b"%FF%FE.bin", "not UTF-8"), (b"x" * 256, "at most 255"),
])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path, name, why):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    refused(inbox, name, why)
    assert list(inbox.iterdir()) == [] and sorted(tmp_path.iterdir()) == [inbox]


def refused(inbox, name: bytes, why: str) -> None:
    """A receiver into ``inbox`` refuses a sender's file ``name``: ``why`` told to the
    sender (ERR) and in its one error line, exit 1."""
    rx, port = receiver(*SOCKLAB, "receive", "tcp:127.0.0.1:0", f"{inbox}/")
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(10)
    s.sendall(b"SOCKLAB-FILE 1 5 " + name + b"\nhello")
    answer = s.recv(4096)
    s.close()
    assert answer.startswith(b"ERR ") and why.encode() in answer, answer
    _out, err = rx.communicate(timeout=30)
    assert rx.returncode == 1
    assert why in one_error_line(err)


def test_a_name_that_is_a_fifo_or_a_link_to_one_is_refused(tmp_path):
    """A device or FIFO the user names is written in place, as a shell's > writes it;
    one the sender names in the user's directory is refused, and left as it is."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.mkfifo(inbox / "pipe")
    (inbox / "link").symlink_to(inbox / "pipe")
    for name in (b"pipe", b"link"):
        refused(inbox, name, "not a regular file")
    assert sorted(p.name for p in inbox.iterdir()) == ["link", "pipe"]
    assert (inbox / "link").is_symlink() and stat.S_ISFIFO(os.stat(inbox / "pipe").st_mode)


def test_an_unknown_version_is_refused_with_the_reason(tmp_path):
    rx, port = receiver(*SOCKLAB, "receive", "tcp:127.0.0.1:0", f"{tmp_path}/")
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(10)
    s.sendall(b"SOCKLAB-FILE 2 5 x\nhello")
    assert s.recv(4096).startswith(b"ERR unsupported version 2")
    s.close()
    assert rx.wait(timeout=30) == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["nope/", "nope/file.bin", "afile/", "afile/x"])
def test_a_missing_directory_fails_at_start(tmp_path, target):
    (tmp_path / "afile").write_text("")
    r = run_cli("receive", "tcp:127.0.0.1:0", f"{tmp_path}/{target}", timeout=30)
    assert r.returncode == 2
    assert "directory" in one_error_line(r.stderr)
    assert b"listening" not in r.stderr


def test_a_sender_reset_mid_transfer_is_one_line_and_leaves_nothing(tmp_path):
    rx, port = receiver(*SOCKLAB, "receive", "tcp:127.0.0.1:0", f"{tmp_path}/")
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(b"SOCKLAB-FILE 1 1000000 cut.bin\n" + b"x" * 500000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST
    _out, err = rx.communicate(timeout=30)
    assert rx.returncode == 1
    assert "Connection reset by peer" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_the_sender_prints_the_receivers_reason(tmp_path):
    """A file whose name is not UTF-8 is sent (its bytes, percent-encoded); a receiver
    into a directory refuses it and the sender says why, exit 1."""
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = os.path.join(os.fsencode(src_dir), b"\xff.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(3 << 20))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rx, port = receiver(*SOCKLAB, "receive", "tcp:127.0.0.1:0", f"{inbox}/")
    tx = subprocess.run([*SOCKLAB, "send", src, f"tcp:127.0.0.1:{port}"],
                        capture_output=True, timeout=60)
    assert tx.returncode == 1
    assert "the receiver refused it: file name" in one_error_line(tx.stderr)
    assert "not UTF-8" in tx.stderr.decode()
    rx.communicate(timeout=30)
    assert rx.returncode == 1 and list(inbox.iterdir()) == []


def test_a_full_filesystem_is_reported_on_both_sides(tmp_path):
    """The receiver writes into a 1 MiB tmpfs mounted in its own mount namespace
    (the host's mounts are untouched); a 4 MiB file fills it."""
    need_root("mounts a tmpfs in a private mount namespace")
    need_tool("unshare")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = ('mount -t tmpfs -o size=1m socklab-test "$1" || exit 99; '
              '"$2" -m socklab receive tcp:127.0.0.1:0 "$1/"; code=$?; '
              'ls -A "$1"; exit $code')
    rx, port = receiver("unshare", "--mount", "--propagation", "private", "sh", "-c",
                        script, "sh", str(mnt), sys.executable)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(4 << 20))
    tx = subprocess.run([*SOCKLAB, "send", str(src), f"tcp:127.0.0.1:{port}"],
                        capture_output=True, timeout=60)
    out, err = rx.communicate(timeout=30)
    assert rx.returncode == 1
    assert "No space left on device" in one_error_line(err)
    assert out == b""  # nothing left in the full filesystem, not even a .part file
    assert tx.returncode == 1
    assert "the receiver refused it" in one_error_line(tx.stderr)
    assert "No space left on device" in tx.stderr.decode()
    assert list(mnt.iterdir()) == []  # and nothing on the host
