"""socklab connect/listen against peers no one here wrote: OpenBSD nc and socat."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from helpers import SOCKLAB, Listener, need_tool, run_cli


def free_port(family=socket.AF_INET, host="127.0.0.1", kind=socket.SOCK_STREAM):
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, family=socket.AF_INET, deadline=5.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on {host}:{port}")


# -- socklab listen, a real client ------------------------------------------------

@pytest.mark.parametrize("spec,host,family", [("tcp:127.0.0.1:0", "127.0.0.1", "-4"),
                                              ("tcp6:[::1]:0", "::1", "-6")])
def test_nc_client_to_socklab_listen(spec, host, family):
    need_tool("nc")
    srv = Listener(spec, stdin=b"from server\n")
    nc = subprocess.run(["nc", "-N", family, host, str(srv.port)], input=b"from nc\n",
                        capture_output=True, timeout=20)
    code, out, _err = srv.finish()
    assert code == 0 and out == b"from nc\n" and nc.stdout == b"from server\n"


def test_socat_client_to_socklab_listen_echo():
    need_tool("socat")
    srv = Listener("tcp:127.0.0.1:0", "--echo")
    got = subprocess.run(["socat", "-", f"TCP:127.0.0.1:{srv.port}"], input=b"x" * 100000,
                         capture_output=True, timeout=20)
    assert got.stdout == b"x" * 100000
    assert srv.finish()[0] == 0


def test_socat_unix_client_to_socklab_listen(unix_path):
    need_tool("socat")
    path = unix_path()
    srv = Listener(f"unix:{path}", stdin=b"pong")
    got = subprocess.run(["socat", "-", f"UNIX-CONNECT:{path}"], input=b"ping",
                         capture_output=True, timeout=20)
    code, out, _ = srv.finish()
    assert (code, out, got.stdout) == (0, b"ping", b"pong")
    import os

    assert not os.path.exists(path)  # the listener removed its socket file


def test_udp_echo_answers_each_sender_with_socat():
    need_tool("socat")
    srv = Listener("udp:127.0.0.1:0", "--echo", "--max-clients", "2")
    for word in (b"one", b"two"):
        got = subprocess.run(["socat", "-T", "2", "-", f"UDP:127.0.0.1:{srv.port}"],
                             input=word, capture_output=True, timeout=20)
        assert got.stdout == word
    assert srv.finish()[0] == 0


def test_unix_dgram_echo(unix_path):
    path = unix_path()
    srv = Listener(f"unix-dgram:{path}", "--echo", "--max-clients", "1")
    proc = run_cli("connect", f"unix-dgram:{path}", "-w", "1", input=b"datagram")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"datagram"
    assert srv.finish()[0] == 0


def test_pseudo_connected_mode_output():
    srv = subprocess.Popen([*SOCKLAB, "listen", "udp:127.0.0.1:0", "--connect-first-peer"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    line = srv.stderr.readline().decode()
    port = int(line.rsplit(":", 1)[1])
    first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        first.sendto(b"first\n", ("127.0.0.1", port))
        time.sleep(0.3)
        other.sendto(b"intruder\n", ("127.0.0.1", port))
        first.sendto(b"again\n", ("127.0.0.1", port))
        time.sleep(0.3)
        srv.stdin.write(b"reply\n")
        srv.stdin.flush()
        first.settimeout(5)
        assert first.recv(100) == b"reply\n"
    finally:
        srv.kill()
        out, _err = srv.communicate()
        first.close()
        other.close()
    assert out == b"first\nagain\n"


# -- socklab connect, a real server -------------------------------------------------

@pytest.mark.parametrize("family,host,spec", [("-4", "127.0.0.1", "tcp:127.0.0.1:{}"),
                                              ("-6", "::1", "tcp:[::1]:{}")])
def test_socklab_connect_to_nc_listen(family, host, spec):
    need_tool("nc")
    port = free_port(socket.AF_INET6 if host == "::1" else socket.AF_INET, host)
    nc = subprocess.Popen(["nc", "-l", family, "-N", host, str(port)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
    try:
        nc.stdin.write(b"hello socklab\n")
        nc.stdin.close()
        nc.stdin = None
        wait_port_quietly(nc, host, port)
        proc = run_cli("connect", spec.format(port), input=b"hello nc\n")
        out, _ = nc.communicate(timeout=20)
    finally:
        if nc.poll() is None:
            nc.kill()
    assert proc.returncode == 0, proc.stderr
    assert out == b"hello nc\n" and proc.stdout == b"hello socklab\n"


def wait_port_quietly(proc, host, port):
    # nc -l serves one client: probe with ss instead of connecting to it
    end = time.monotonic() + 5
    while time.monotonic() < end:
        out = subprocess.run(["ss", "-Htln", f"sport = :{port}"], capture_output=True,
                             text=True).stdout
        if out.strip():
            return
        time.sleep(0.02)
    raise AssertionError("nc did not listen")


def test_socklab_connect_to_socat_unix_and_udp(unix_path):
    need_tool("socat")
    path = unix_path()
    srv = subprocess.Popen(["socat", f"UNIX-LISTEN:{path}", "EXEC:rev"])
    try:
        end = time.monotonic() + 5
        import os

        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.02)
        proc = run_cli("connect", f"unix:{path}", input=b"abc\n")
        assert proc.stdout == b"cba\n", proc.stderr
    finally:
        srv.kill()
        srv.wait()
    port = free_port(kind=socket.SOCK_DGRAM)
    udp = subprocess.Popen(["socat", f"UDP-RECVFROM:{port},bind=127.0.0.1", "EXEC:rev"])
    try:
        time.sleep(0.3)
        proc = run_cli("connect", f"udp:127.0.0.1:{port}", "-w", "1", input=b"xyz\n")
        assert proc.stdout == b"zyx\n", proc.stderr
    finally:
        udp.kill()
        udp.wait()


def test_stdlib_client_and_half_close():
    """A peer that sends, then shuts its write side, still gets the whole answer."""
    srv = Listener("tcp:127.0.0.1:0", "--echo")
    s = socket.create_connection(("127.0.0.1", srv.port))
    payload = bytes(range(256)) * 4000  # ~1 MB: more than the socket buffers hold
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    s.settimeout(20)
    while chunk := s.recv(1 << 16):
        got += chunk
    s.close()
    assert bytes(got) == payload
    assert srv.finish()[0] == 0


def test_connect_refused_is_one_line_exit_1():
    port = free_port()
    proc = run_cli("connect", f"tcp:127.0.0.1:{port}")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "Connection refused" in err and str(port) in err


def test_every_address_is_tried_and_reported():
    port = free_port()
    proc = run_cli("connect", f"tcp:localhost:{port}")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    # localhost resolves to ::1 and 127.0.0.1 here: both attempts are named
    assert err.count("\n") == 1 and "127.0.0.1" in err


def test_socat_unix_dgram_client_to_socklab_listen_echo(unix_path):
    need_tool("socat")
    path, mine = unix_path(), unix_path()
    srv = Listener(f"unix-dgram:{path}", "--echo", "--max-clients", "1")
    got = subprocess.run(["socat", "-T", "2", "-", f"UNIX-SENDTO:{path},bind={mine}"],
                         input=b"dgram via socat", capture_output=True, timeout=20)
    assert got.stdout == b"dgram via socat", got.stderr
    assert srv.finish()[0] == 0


def test_socklab_unix_dgram_client_to_socat(unix_path):
    need_tool("socat")
    path = unix_path()
    srv = subprocess.Popen(["socat", f"UNIX-RECVFROM:{path}", "EXEC:rev"])
    try:
        end = time.monotonic() + 5
        import os

        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.02)
        proc = run_cli("connect", f"unix-dgram:{path}", "-w", "1", input=b"abc\n")
        assert proc.stdout == b"cba\n", proc.stderr
    finally:
        srv.kill()
        srv.wait()
