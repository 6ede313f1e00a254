"""TLS endpoints with a certificate made at run time (openssl), verified or refused."""

from __future__ import annotations

import subprocess

import pytest
from helpers import Listener, need_tool, run_cli


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
