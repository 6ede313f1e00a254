"""What reaches the socket layer from connect/listen: --source (bad input is exit 2
naming it; a good one is bound) and UNIX names whose bytes are not UTF-8 (they work)."""

from __future__ import annotations

import os
import socket
import threading
import uuid

import pytest
from helpers import SOCKLAB, run_cli

import socklab
from socklab.errors import BadInput
from socklab.talk import net
from socklab.talk.endpoint import Endpoint


@pytest.mark.parametrize("target,source,says", [
    ("tcp:127.0.0.1:9", "bogus", "cannot resolve"),
    ("tcp:127.0.0.1:9", "::1", "not an IPv4 address"),
    ("tcp:127.0.0.1:9", "[::1]:5", "not an IPv4 address"),
    ("tcp:[::1]:9", "127.0.0.1", "not an IPv6 address"),
    ("tcp:127.0.0.1:9", "127.0.0.1:99999", "port from 0 to 65535"),
    ("tcp:127.0.0.1:9", "127.0.0.1:x", "port from 0 to 65535"),
    ("tcp:[::1]:9", "[::1", "[IPV6]:PORT"),
    ("tcp:127.0.0.1:9", "192.0.2.1", "not an address of this machine"),
    ("udp:127.0.0.1:9", "bogus", "cannot resolve"),
    ("unix:/nonexistent/s", "127.0.0.1", "for tcp: and udp:"),
    ("unix-dgram:/nonexistent/s", "127.0.0.1", "for tcp: and udp:"),
])
def test_a_bad_source_is_exit_2_naming_it(target, source, says):
    r = run_cli("connect", target, "--source", source, input=b"")
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("socklab: error: ") and says in err, err
    assert "--source" in err and "internal error" not in err and "Unknown error" not in err


def test_a_source_that_is_not_utf8_is_exit_2():
    import subprocess

    r = subprocess.run([*SOCKLAB, "connect", "tcp:127.0.0.1:9", "--source", b"\xff"],
                       capture_output=True, input=b"", timeout=60)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2 and err.count("\n") == 1 and "--source" in err, err


def _accept_one(family: int, host: str) -> tuple[int, list[object]]:
    srv = socket.socket(family)
    srv.bind((host, 0))
    srv.listen(1)
    seen: list[object] = []

    def serve() -> None:
        conn, addr = srv.accept()
        seen.append(addr[0])
        conn.recv(10)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], seen


@pytest.mark.parametrize("family,host,target,source,peer", [
    (socket.AF_INET, "127.0.0.1", "tcp:127.0.0.1:{}", "127.0.0.2", "127.0.0.2"),
    (socket.AF_INET, "127.0.0.1", "tcp:127.0.0.1:{}", "127.0.0.3:0", "127.0.0.3"),
    (socket.AF_INET, "127.0.0.1", "tcp:localhost:{}", "127.0.0.4", "127.0.0.4"),
    (socket.AF_INET6, "::1", "tcp:[::1]:{}", "::1", "::1"),
    (socket.AF_INET6, "::1", "tcp:[::1]:{}", "[::1]:0", "::1"),
])
def test_a_good_source_is_bound(family, host, target, source, peer):
    port, seen = _accept_one(family, host)
    r = run_cli("connect", target.format(port), "--source", source, input=b"hi")
    assert r.returncode == 0, r.stderr
    assert seen == [peer]


def test_unix_paths_that_are_not_utf8_work(tmp_path):
    """A path's bytes as the OS has them (surrogate-escaped in Python) bind and connect."""
    path = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"\xff\xfe.sock"))
    ep = Endpoint("unix", path=path)
    listener = net.listen(ep)
    try:
        assert os.listdir(os.fsencode(tmp_path)) == [b"\xff\xfe.sock"]
        client = net.connect(ep)
        conn, _ = listener.accept()
        client.sendall(b"ok")
        assert conn.recv(2) == b"ok"
        client.close()
        conn.close()
    finally:
        listener.close()
        net.remove_path(ep)
    assert os.listdir(tmp_path) == []


def test_abstract_names_that_are_not_utf8_work():
    name = f"socklab-{uuid.uuid4().hex[:8]}-\udcff"
    ep = Endpoint("abstract", path=name)
    listener = net.listen(ep)
    try:
        assert listener.getsockname() == b"\0" + os.fsencode(name)
        client = net.connect(ep)
        conn, _ = listener.accept()
        client.sendall(b"ok")
        assert conn.recv(2) == b"ok"
        client.close()
        conn.close()
    finally:
        listener.close()


@pytest.mark.parametrize("ep", [Endpoint("unix", path="/tmp/a\0b"),
                                Endpoint("abstract", path="x" * 108),
                                Endpoint("unix", path="/tmp/" + "\udcff" * 103)])
def test_unix_names_the_kernel_cannot_take_are_bad_input(ep):
    with pytest.raises(BadInput):
        net.connect(ep)
    with pytest.raises(BadInput):
        net.listen(ep)


@pytest.mark.parametrize("argv", [
    ["connect", "tcp:127.0.0.1:9", "-w", "nan"], ["connect", "tcp:127.0.0.1:9", "-w", "inf"],
    ["connect", "udp:127.0.0.1:9", "-w", "nan"], ["send", "/etc/hostname", "tcp:127.0.0.1:9",
                                                  "-w", "nan"],
    ["send", "/etc/hostname", "tcp:127.0.0.1:9", "-w", "-inf"],
    ["listen", "tcp:127.0.0.1:0", "--idle-timeout", "nan"],
    ["listen", "tcp:127.0.0.1:0", "-k", "--idle-timeout", "inf"],
])
def test_timeouts_that_are_not_positive_numbers_are_exit_2(argv):
    r = run_cli(*argv, input=b"", timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1 and err.startswith("socklab: error: ")
    assert "internal error" not in err and "listening" not in err


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -1.0])
def test_the_library_refuses_such_timeouts(timeout):
    with pytest.raises(BadInput):
        net.connect("tcp:127.0.0.1:9", timeout=timeout)


@pytest.mark.parametrize("idle", [float("nan"), float("inf"), 0.0])
def test_the_server_refuses_such_idle_timeouts(idle):
    from socklab.talk import serve

    with socket.socket() as s, pytest.raises(BadInput):
        serve.Server(s, "echo", idle_timeout=idle)


def test_the_server_refuses_an_unknown_mode_with_bad_input():
    from socklab.talk import serve

    with socket.socket() as s, pytest.raises(BadInput, match="echo, discard, chat, stdio"):
        serve.Server(s, "shout")


@pytest.mark.parametrize("timeout", [float("nan"), 0.0])
def test_a_tls_endpoint_refuses_such_timeouts_too(timeout):
    with pytest.raises(BadInput):
        socklab.connect("tls:tcp:127.0.0.1:9", timeout=timeout)


def test_net_connect_leaves_tls_to_socklab_connect():
    with pytest.raises(BadInput, match=r"socklab\.connect"):
        net.connect("tls:tcp:127.0.0.1:9")
