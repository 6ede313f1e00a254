"""socklab's network errors are the OSError subclasses a socket user already catches."""

import errno
import socket

import socklab


def test_refused_connect_is_caught_as_connection_refused_error():
    with socket.socket() as s:  # a port nobody listens on: bound, never listened
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        try:
            socklab.connect(f"tcp:127.0.0.1:{port}")
        except ConnectionRefusedError as exc:
            assert exc.errno == errno.ECONNREFUSED
            assert f"127.0.0.1:{port}" in str(exc)
        else:
            raise AssertionError("connect to a closed port succeeded")
