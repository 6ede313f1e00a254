"""What listen --exec, relay --listen and connect udp: do, called from the library:
typed functions with a log sink, no stderr."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest
from helpers import recv_exactly

from socklab.errors import ConnectionRefused
from socklab.talk import admission, dgram, execute, forward, net
from socklab.talk.endpoint import parse


def _in_thread(target, *args, **kwargs):
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(target(*args, **kwargs)), daemon=True)
    t.start()
    return t, result


def test_serve_exec_runs_a_program_per_client_and_says_it_through_log(capfd):
    lines: list[str] = []
    listener = net.listen("tcp:127.0.0.1:0")
    port = listener.getsockname()[1]
    t, result = _in_thread(execute.serve_exec, listener, ["cat"], keep_open=True,
                           max_clients=1, log=lines.append)
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as c:
            c.settimeout(5)
            c.sendall(b"through cat\n")
            c.shutdown(socket.SHUT_WR)
            assert recv_exactly(c, 12, "exec cat") == b"through cat\n"
        t.join(10)
    finally:
        listener.close()
    assert not t.is_alive() and result == [1]
    assert any("running cat" in line for line in lines)
    assert capfd.readouterr().err == ""  # nothing written behind the caller's back


def test_serve_exec_refuses_by_admission_before_running_anything():
    lines: list[str] = []
    listener = net.listen("tcp:127.0.0.1:0")
    port = listener.getsockname()[1]
    rules = admission.Admission(deny=tuple(admission.networks(["127.0.0.1"], "--deny")))
    t, result = _in_thread(execute.serve_exec, listener, ["cat"], admission=rules,
                           log=lines.append)
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as c:
            c.settimeout(5)
            assert c.recv(10) == b""  # closed at once, no program ran for it
        with socket.create_connection(("127.0.0.1", port), 5,
                                      source_address=("127.0.0.2", 0)) as c:
            c.settimeout(5)
            c.sendall(b"admitted\n")
            c.shutdown(socket.SHUT_WR)
            assert recv_exactly(c, 9, "exec cat") == b"admitted\n"
        t.join(10)
    finally:
        listener.close()
    assert result == [1]
    assert sum("denied by --deny" in line for line in lines) == 1
    assert sum("running cat" in line for line in lines) == 1


def test_serve_relay_connects_the_second_endpoint_per_client():
    backend = net.listen("tcp:127.0.0.1:0")
    front = net.listen("tcp:127.0.0.1:0")
    b = parse(f"tcp:127.0.0.1:{backend.getsockname()[1]}")
    t, result = _in_thread(forward.serve_relay, front, b)
    try:
        with socket.create_connection(("127.0.0.1", front.getsockname()[1]), 5) as c:
            conn, _ = backend.accept()
            with conn:
                c.sendall(b"hello backend")
                c.shutdown(socket.SHUT_WR)
                conn.settimeout(5)
                assert recv_exactly(conn, 13, "relay") == b"hello backend"
                conn.sendall(b"and back")
                conn.shutdown(socket.SHUT_WR)
                c.settimeout(5)
                assert recv_exactly(c, 8, "relay back") == b"and back"
        t.join(10)
    finally:
        front.close()
        backend.close()
    assert result == [0]


def test_the_datagram_client_sends_each_read_and_writes_each_answer():
    server = net.listen("udp:127.0.0.1:0")
    client = net.connect(f"udp:127.0.0.1:{server.getsockname()[1]}")
    r, w = os.pipe()
    out = io.BytesIO()
    try:
        os.write(w, b"one datagram")
        os.close(w)
        server.settimeout(5)
        t, _ = _in_thread(dgram.talk, client, r, out, 1.0)
        data, addr = server.recvfrom(100)
        server.sendto(data.upper(), addr)
        t.join(10)
    finally:
        os.close(r)
        client.close()
        server.close()
    assert not t.is_alive() and out.getvalue() == b"ONE DATAGRAM"


def test_the_datagram_client_raises_connection_refused_for_a_closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = net.connect(f"udp:127.0.0.1:{port}")
    r, w = os.pipe()
    try:
        os.write(w, b"anyone?")
        os.close(w)
        with pytest.raises(ConnectionRefused) as caught:
            dgram.talk(client, r, io.BytesIO(), 5.0)
        assert isinstance(caught.value, ConnectionRefusedError)
    finally:
        os.close(r)
        client.close()
