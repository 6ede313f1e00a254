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


def test_exec_over_tls_out_of_descriptors_waits_and_recovers(tmp_path):
    """listen --exec with TLS holds a thread and descriptors per client; 100 clients
    that never shake hands exhaust 64 descriptors: it waits (said once), and serves
    again once they left."""
    import ssl

    from helpers import need_tool

    need_tool("openssl")
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([*SOCKLAB, "listen", "tcp:127.0.0.1:0", "-k", "-q",
                                 "--cert", str(crt), "--key", str(key),
                                 "--exec", "cat", "--allow-exec"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=_limit_fds)
    clients: list[socket.socket] = []
    try:
        port = 0
        for _attempt in range(200):
            m = re.search(r"listening on .*:(\d+)\n", err_path.read_text())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        assert port
        for _ in range(100):  # plain TCP: each accepted one waits for a ClientHello
            clients.append(socket.create_connection(("127.0.0.1", port), 10))
        for _attempt in range(200):
            if "Too many open files" in err_path.read_text():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the server never ran out of descriptors")
        time.sleep(1)
        assert proc.poll() is None, err_path.read_text()  # still serving
        for c in clients:
            c.close()
        clients.clear()
        ctx = ssl.create_default_context(cafile=str(crt))
        ctx.check_hostname = False
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10)) as c:
            c.settimeout(10)
            c.sendall(b"ping\n")
            assert recv_exactly(c, 5, "exec cat") == b"ping\n"
    finally:
        for c in clients:
            c.close()
        proc.kill()
        proc.wait()
    text = err_path.read_text()
    assert "internal error" not in text
    assert 1 <= text.count("Too many open files") <= 3, text[-2000:]
