"""The traced socket factory on real loopback sockets."""

import errno
import socket

import pytest

from socklab import trace
from socklab.kernel import sock as ksock


@pytest.fixture
def events():
    seen: list[trace.TraceEvent] = []
    with trace.tracing(seen.append):
        yield seen


def test_untraced_sockets_are_plain_python_sockets():
    assert not trace.active()
    s = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert type(s) is socket.socket
    finally:
        s.close()
    a, b = ksock.socketpair()
    assert type(a) is socket.socket and type(b) is socket.socket
    a.close()
    b.close()


def test_tcp_sequence_is_traced_in_order(events):
    server = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    client = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.connect(("127.0.0.1", port))
    conn, peer = server.accept()
    client.sendall(b"hello")
    assert conn.recv(100) == b"hello"
    conn.shutdown(socket.SHUT_WR)
    assert client.recv(100) == b""
    for s in (conn, client, server):
        s.close()
    calls = [(e.call, e.fd) for e in events if e.call != "getsockname"]
    sfd, cfd = int(events[0].result.split()[1]), None
    cfd = int(next(e for e in events if e.call == "socket" and e.result != f"fd {sfd}")
              .result.split()[1])
    afd = int(next(e for e in events if e.call == "accept").result.split()[1])
    assert calls == [
        ("socket", None), ("bind", sfd), ("listen", sfd), ("socket", None), ("connect", cfd),
        ("accept", sfd), ("sendall", cfd), ("recv", afd), ("shutdown", afd), ("recv", cfd),
        ("close", afd), ("close", cfd), ("close", sfd),
    ]
    accept = next(e for e in events if e.call == "accept")
    assert accept.result == f"fd {afd} from 127.0.0.1:{peer[1]}"
    assert next(e for e in events if e.call == "bind").text() == f"bind(fd {sfd}, 127.0.0.1:0) = ok"
    assert type(conn) is ksock.TracedSocket


def test_failed_call_reports_errno(events):
    # A port nobody listens on: bind one, close it without listening.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    client = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError):
            client.connect(("127.0.0.1", port))
    finally:
        client.close()
        probe.close()
    connect = next(e for e in events if e.call == "connect")
    assert connect.errno == errno.ECONNREFUSED
    assert "ECONNREFUSED" in connect.text()


def test_udp_datagram_calls(events):
    a = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    b.sendto(b"ping", a.getsockname())
    data, sender = a.recvfrom(100)
    assert (data, sender) == (b"ping", b.getsockname())
    a.close()
    b.close()
    texts = [e.text() for e in events]
    assert any(t.startswith("sendto(") and t.endswith("= 4") for t in texts)
    assert any(t.startswith("recvfrom(") and f"4 bytes from 127.0.0.1:{sender[1]}" in t
               for t in texts)


def test_socketpair_and_setsockopt(events):
    a, b = ksock.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    a.send(b"x")
    assert b.recv(10) == b"x"
    a.close()
    b.close()
    texts = [e.text() for e in events]
    assert texts[0].startswith("socketpair(AF_UNIX, SOCK_SEQPACKET, 0) = [fd ")
    assert any(t.startswith("setsockopt(") and "SOL_SOCKET, SO_SNDBUF, 65536" in t for t in texts)


def test_library_connect_listen_relay():
    import threading

    import socklab

    a_srv = socklab.listen("tcp:127.0.0.1:0")
    b_srv = socklab.listen("tcp:[::1]:0")
    try:
        front = socklab.connect(f"tcp:127.0.0.1:{a_srv.getsockname()[1]}")
        back = socklab.connect(f"tcp:[::1]:{b_srv.getsockname()[1]}")
        a_in, _ = a_srv.accept()
        b_in, _ = b_srv.accept()
        t = threading.Thread(target=socklab.relay, args=(a_in, back))
        t.start()
        front.sendall(b"through")
        front.shutdown(socket.SHUT_WR)
        assert b_in.recv(100) == b"through"
        b_in.sendall(b"back")
        b_in.close()
        assert front.recv(100) == b"back"
        t.join(5)
        for s in (front, back, a_in):
            s.close()
    finally:
        a_srv.close()
        b_srv.close()
    assert socklab.parse_endpoint("udp6:[::1]:53").port == 53


def test_the_type_flags_given_to_socket_are_shown(events):
    """socket.type drops SOCK_NONBLOCK and SOCK_CLOEXEC; the trace shows the call
    as it was made, as strace does (a non-blocking connect is the scan's story)."""
    s = ksock.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    try:
        code = s.connect_ex(("127.0.0.1", 1))
    finally:
        s.close()
    assert events[0].call == "socket"
    assert events[0].args[1] == "SOCK_STREAM|SOCK_NONBLOCK"
    assert code in (errno.EINPROGRESS, errno.ECONNREFUSED)
