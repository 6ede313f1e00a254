"""The sans-I/O parts of talk/: the TLS engine fed bytes by hand (no socket), the
admission rules, and the import direction net -> tls."""

from __future__ import annotations

import ast
import ipaddress
import ssl
import subprocess
from pathlib import Path

import pytest

import socklab
from socklab.talk.admission import Admission, Credentials
from socklab.talk.tlsengine import Engine


@pytest.fixture(scope="module")
def contexts(tmp_path_factory):
    from helpers import need_tool

    need_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(crt), str(key))
    client = ssl.create_default_context(cafile=str(crt))
    return client, server


def _shake(client: Engine, server: Engine) -> None:
    """Move records both ways until both handshakes are done (bounded)."""
    for _ in range(10):
        c_done = client.handshake()
        server.receive(client.records())
        s_done = server.handshake()
        client.receive(server.records())
        if c_done and s_done:
            return
    raise AssertionError("the handshake did not finish in 10 flights")


def test_two_engines_talk_through_bytes_alone(contexts):
    cctx, sctx = contexts
    client = Engine(cctx, server_hostname="localhost")
    server = Engine(sctx, server_side=True)
    _shake(client, server)
    assert client.version() in ("TLSv1.2", "TLSv1.3")
    client.write(b"bonjour")
    server.receive(client.records())
    got = bytearray()
    assert server.read_into(got) and got == b"bonjour"


def test_data_buffered_with_the_handshake_is_read_without_new_bytes(contexts):
    """The client's first record comes in the same bytes as its Finished: after the
    server's handshake, the record is already buffered and read_into gives it."""
    cctx, sctx = contexts
    cctx.maximum_version = ssl.TLSVersion.TLSv1_3
    client = Engine(cctx, server_hostname="localhost")
    server = Engine(sctx, server_side=True)
    assert not client.handshake()
    server.receive(client.records())  # ClientHello
    assert not server.handshake()
    client.receive(server.records())  # the server's flight
    assert client.handshake()
    client.write(b"early words")
    server.receive(client.records())  # Finished and the data, in one piece
    assert server.handshake()
    assert server.buffered
    got = bytearray()
    assert server.read_into(got) and got == b"early words"


def test_half_close_keeps_the_other_direction(contexts):
    cctx, sctx = contexts
    client = Engine(cctx, server_hostname="localhost")
    server = Engine(sctx, server_side=True)
    _shake(client, server)
    client.close_write()
    assert client.sent_close and not client.peer_done
    server.receive(client.records())  # close_notify
    got = bytearray()
    assert server.read_into(got) and got == b"" and server.peer_done
    server.write(b"answer after your end")
    server.close_write()
    client.receive(server.records())
    assert client.read_into(got) and got == b"answer after your end" and client.peer_done


def test_a_failed_handshake_raises_and_leaves_the_alert_to_send(contexts):
    """A client that cannot verify the server's name fails, and its alert waits in
    records() for the caller to send."""
    cctx, sctx = contexts
    client = Engine(cctx, server_hostname="not-localhost")
    server = Engine(sctx, server_side=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        _shake(client, server)
    assert client.records()  # the alert that tells the server why
    assert not client.ready


def test_garbage_instead_of_a_client_hello_fails_the_handshake(contexts):
    _cctx, sctx = contexts
    server = Engine(sctx, server_side=True)
    server.receive(b"GET / HTTP/1.0\r\n\r\n")
    with pytest.raises(ssl.SSLError):
        server.handshake()
    assert not server.ready


def test_a_bare_eof_is_the_peers_end(contexts):
    cctx, sctx = contexts
    client = Engine(cctx, server_hostname="localhost")
    server = Engine(sctx, server_side=True)
    _shake(client, server)
    server.receive(b"")
    assert server.read_into(bytearray()) and server.peer_done


def test_admission_deny_wins_allow_limits_and_max_conns():
    net = ipaddress.ip_network
    rules = Admission(allow=(net("127.0.0.0/8"),), deny=(net("127.0.0.2/32"),), max_conns=2)
    assert rules.refusal(("127.0.0.1", 5000)) is None
    assert rules.refusal(("::ffff:127.0.0.1", 5000, 0, 0)) is None  # mapped: IPv4 rules
    assert rules.refusal(("127.0.0.2", 5000)) == "denied by --deny"
    assert rules.refusal(("10.0.0.1", 5000)) == "not in --allow"
    assert rules.refusal("/run/app.sock") is None  # a UNIX peer: no address to match
    assert "--max-conns 2" in (rules.refusal(("127.0.0.1", 1), open_conns=2) or "")
    assert str(Credentials(1, 2, 3)) == "pid=1 uid=2 gid=3"


def test_net_does_not_import_tls():
    """TLS is chosen one level up (talk/client.py): net.py never imports tls.py."""
    tree = ast.parse((Path(socklab.__file__).parent / "talk" / "net.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            assert not any(n.startswith("socklab.talk.tls") for n in names), node.lineno
