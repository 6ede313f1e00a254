"""TLS endpoints with a certificate made at run time (openssl), verified or refused."""

from __future__ import annotations

import re
import subprocess
import tempfile

import pytest
from helpers import Listener, need_tool, recv_exactly, run_cli


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    need_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,"
                    "IP:127.0.0.1", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return str(crt), str(key)


def test_tls_round_trip_verified_with_cafile(cert):
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, stdin=b"secret reply\n")
    proc = run_cli("connect", f"tls:tcp:localhost:{srv.port}", "--cafile", crt,
                   input=b"secret hello\n")
    code, out, _err = srv.finish()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"secret reply\n" and out == b"secret hello\n" and code == 0


def test_untrusted_certificate_is_refused_with_the_reason(cert):
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key)
    proc = run_cli("connect", f"tls:tcp:localhost:{srv.port}", input=b"x")
    srv.kill()
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "TLS verification failed" in err
    assert "self-signed" in err or "self signed" in err


def test_half_close_reaches_a_socat_tls_server_that_answers_after_eof(cert):
    """stdin's end is close_notify + FIN, yet the answer sent after it still arrives."""
    need_tool("socat")
    crt, key = cert
    srv = subprocess.Popen(
        ["socat", "-d", "-d", f"OPENSSL-LISTEN:0,bind=127.0.0.1,cert={crt},key={key},verify=0",
         "SYSTEM:cat >/dev/null; echo answered after EOF"],
        stderr=subprocess.PIPE)
    try:
        assert srv.stderr is not None
        line = srv.stderr.readline().decode()
        found = re.search(r"listening on .*:(\d+)", line)
        assert found, line
        port = int(found.group(1))
        proc = run_cli("connect", f"tls:tcp:127.0.0.1:{port}", "--cafile", crt,
                       input=b"some request\n" * 1000)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == b"answered after EOF\n"
    finally:
        srv.kill()
        srv.communicate()


def test_socat_tls_client_talks_to_socklab_listen(cert):
    need_tool("socat")
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, stdin=b"server says hi\n")
    client = subprocess.run(["socat", "-", f"OPENSSL:127.0.0.1:{srv.port},cafile={crt}"],
                            input=b"hello from socat\n", capture_output=True, timeout=30)
    code, out, err = srv.finish()
    assert client.returncode == 0, client.stderr
    assert client.stdout == b"server says hi\n" and out == b"hello from socat\n", err
    assert code == 0


def test_tls_stream_is_a_socket_with_version_and_peer_certificate(cert):
    import threading

    import socklab
    from socklab.talk import tls

    crt, key = cert
    listener = socklab.listen("tcp:127.0.0.1:0")
    port = listener.getsockname()[1]
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with tls.accept(conn, tls.server_context(crt, key)) as s:
            got.append(s.makefile("rb").read())  # to close_notify
            s.sendall(b"bye")
            s.shutdown(2)

    t = threading.Thread(target=serve)
    t.start()
    with socklab.connect(f"tls:tcp:localhost:{port}", cafile=crt) as c:
        assert isinstance(c, tls.Stream)
        assert c.version() in ("TLSv1.2", "TLSv1.3")
        c.sendall(b"x" * 100_000)
        with tempfile.TemporaryFile() as f:  # sendfile goes through TLS too, not around it
            f.write(b"a" * 5 + b"y" * 70_000)
            assert c.sendfile(f, offset=5, count=60_000) == 60_000 and f.tell() == 60_005
        c.shutdown(1)
        assert c.recv(10) == b"bye" and c.recv(10) == b""
    t.join(10)
    listener.close()
    assert got == [b"x" * 100_000 + b"y" * 60_000]


def _tls_client(port: int, crt: str):
    import socket
    import ssl

    ctx = ssl.create_default_context(cafile=crt)
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10),
                           server_hostname="127.0.0.1")


def test_keep_open_serves_many_tls_clients_at_once_and_drops_a_plain_one(cert):
    """The event loop runs every handshake in memory: 50 clients connected together,
    a client speaking plain TCP is closed alone, then each gets its own echo."""
    import socket

    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, "--echo", "-k",
                   "--max-clients", "51")
    rude = socket.create_connection(("127.0.0.1", srv.port), 10)
    rude.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not a TLS ClientHello
    clients = [_tls_client(srv.port, crt) for _ in range(50)]
    rude.settimeout(10)
    while rude.recv(100):  # an alert perhaps, then the server closes it (else: timeout)
        pass
    rude.close()
    for i, c in enumerate(clients):
        c.sendall(f"client {i}\n".encode() * 1000)
    for i, c in enumerate(clients):
        want = f"client {i}\n".encode() * 1000
        assert recv_exactly(c, len(want), i) == want
        c.close()
    code, _out, err = srv.finish()
    assert code == 0 and b"TLS" in err  # the plain client's handshake failure is logged


def test_tls_chat_and_a_socat_client(cert):
    need_tool("socat")
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, "--chat",
                   "--max-clients", "2")
    a = _tls_client(srv.port, crt)
    b = subprocess.Popen(["socat", "-", f"OPENSSL:127.0.0.1:{srv.port},cafile={crt}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert b.stdin is not None and b.stdout is not None
        b.stdin.write(b"hi from socat\n")  # once a has it, both are in the chat
        b.stdin.flush()
        got = a.recv(1000)
        assert got.startswith(b"<127.0.0.1:") and got.endswith(b"> hi from socat\n"), got
        a.sendall(b"hello from python\n")
        line = b.stdout.readline()
        assert line.startswith(b"<127.0.0.1:") and line.endswith(b"> hello from python\n")
    finally:
        a.close()
        b.kill()
        b.communicate()
    assert srv.finish()[0] == 0


def test_trace_shows_the_tls_records_on_the_socket(cert):
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, stdin=b"hi\n")
    proc = run_cli("--trace", "connect", f"tls:tcp:127.0.0.1:{srv.port}", "--cafile", crt,
                   input=b"hello\n")
    srv.finish()
    assert proc.returncode == 0, proc.stderr
    calls = [line.split("(", 1)[0] for line in proc.stderr.decode().splitlines()]
    # the handshake, the data and close_notify are sends and receives of the one socket
    assert calls[:2] == ["socket", "connect"] and calls[-1] == "close"
    assert "sendall" in calls and "recv" in calls and "shutdown" in calls


def test_exec_over_tls_relays_the_program_and_never_speaks_in_clear(cert):
    """--exec with --cert: the program talks through TLS (a socat TLS client gets its
    answer); a plain client gets no cleartext out of it."""
    import socket

    need_tool("socat")
    crt, key = cert
    srv = Listener("tcp:127.0.0.1:0", "--cert", crt, "--key", key, "-k", "--max-clients",
                   "2", "--exec", "tr a-z A-Z", "--allow-exec")
    plain = socket.create_connection(("127.0.0.1", srv.port), 10)
    plain.sendall(b"hello in clear\n")
    plain.settimeout(10)
    leaked = b""
    while chunk := plain.recv(1000):
        leaked += chunk
    plain.close()
    assert b"HELLO" not in leaked  # at most a TLS alert
    tls_client = subprocess.run(["socat", "-", f"OPENSSL:127.0.0.1:{srv.port},cafile={crt}"],
                                input=b"hello over tls\n", capture_output=True, timeout=30)
    code, _out, err = srv.finish()
    assert tls_client.stdout == b"HELLO OVER TLS\n", tls_client.stderr
    assert code == 0, err


@pytest.mark.parametrize("endpoint", ["udp:127.0.0.1:0", "unix:/tmp/socklab-no-tls.sock"])
def test_cert_on_an_endpoint_tls_cannot_serve_is_refused(cert, endpoint):
    crt, key = cert
    proc = run_cli("listen", endpoint, "--cert", crt, "--key", key)
    assert proc.returncode == 2 and b"TLS needs a TCP endpoint" in proc.stderr
    assert proc.stderr.count(b"\n") == 1


def test_data_that_came_with_the_handshake_is_read_at_once(cert):
    """A TLS 1.3 client's first record may arrive in the same segment as its Finished:
    the server's stream must hand it out from what it buffered, not wait on recv."""
    import socket
    import ssl
    import threading

    from socklab.talk import tls

    crt, key = cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    client_ctx = ssl.create_default_context(cafile=crt)
    a, b = socket.socketpair()
    got: list[bytes] = []

    def serve() -> None:
        stream = tls.accept(a, server_ctx, timeout=10)
        stream.settimeout(5)  # a recv that waits for the buffered record times out
        got.append(stream.recv(100))
        stream.close()

    server = threading.Thread(target=serve)
    server.start()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    b.settimeout(10)
    while True:
        try:
            client.do_handshake()
            break
        except ssl.SSLWantReadError:
            b.sendall(outgoing.read())
            incoming.write(b.recv(65536))
    client.write(b"first words")
    b.sendall(outgoing.read())  # Finished and the application record in one write
    server.join(15)
    b.close()
    assert got == [b"first words"]
