"""listen -k out of file descriptors: it rests instead of spinning, says so once, and
accepts again once clients leave."""

from __future__ import annotations

import re
import resource
import socket
import subprocess
import time

from helpers import SOCKLAB, recv_exactly


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def _echo(port: int) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), 10)
    c.settimeout(10)
    try:
        c.sendall(b"ping\n")
        return recv_exactly(c, 5, "echo")
    finally:
        c.close()


def test_emfile_pauses_accept_says_it_once_and_recovers(tmp_path):
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([*SOCKLAB, "listen", "tcp:127.0.0.1:0", "--echo", "-k"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=_limit_fds)
    clients: list[socket.socket] = []
    try:
        port = 0
        for _attempt in range(200):  # the first line says where it listens
            m = re.search(r"listening on .*:(\d+)\n", err_path.read_text())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        assert port
        for _ in range(100):  # more than 64 descriptors: the kernel queues the rest
            clients.append(socket.create_connection(("127.0.0.1", port), 10))
        for _attempt in range(200):
            if "Too many open files" in err_path.read_text():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the server never ran out of descriptors")
        time.sleep(1)  # a spinning server would write thousands of lines meanwhile
        clients[0].sendall(b"x")
        assert clients[0].recv(1) == b"x"  # the ones accepted are served
        for c in clients:
            c.close()
        clients.clear()
        assert _echo(port) == b"ping\n"  # accepting again once descriptors freed
    finally:
        for c in clients:
            c.close()
        proc.kill()
        proc.wait()
    lines = err_path.read_text().splitlines()
    shortage = [line for line in lines if "Too many open files" in line]
    assert 1 <= len(shortage) <= 3, shortage[:5]
    assert len(lines) < 500  # connections and closes, not a flood
