import errno
import os

import pytest

import socklab
from socklab.errors import (
    BadAddress,
    BadInput,
    Malformed,
    MissingPrivilege,
    NetworkError,
    NotFound,
    SocklabError,
    Timeout,
    from_oserror,
)


@pytest.mark.parametrize(("cls", "code"), [
    (BadInput, 2), (BadAddress, 2), (NotFound, 2), (MissingPrivilege, 77),
    (NetworkError, 1), (Timeout, 1), (SocklabError, 1), (Malformed, 1),
])
def test_exit_codes(cls, code):
    assert cls.exit_code == code
    assert issubclass(cls, SocklabError)


def test_missing_privilege_names_capability_and_way_out():
    exc = MissingPrivilege("open raw ICMP socket", "CAP_NET_RAW", "or set ping_group_range")
    assert str(exc) == ("open raw ICMP socket: Operation not permitted (needs CAP_NET_RAW); "
                        "or set ping_group_range")
    assert exc.exit_code == os.EX_NOPERM


def test_bad_address_keeps_position_and_expectation():
    exc = BadAddress("tcp:host", 8, "':PORT'")
    assert (exc.position, exc.expected) == (8, "':PORT'")
    assert "position 8" in str(exc)


def test_from_oserror_translates_by_errno():
    refused = from_oserror(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
                           "connect tcp:127.0.0.1:1")
    assert isinstance(refused, NetworkError)
    assert refused.errno_name == "ECONNREFUSED"
    assert str(refused) == "connect tcp:127.0.0.1:1: Connection refused"
    perm = from_oserror(PermissionError(errno.EPERM, "Operation not permitted"),
                        "open raw socket", "CAP_NET_RAW")
    assert isinstance(perm, MissingPrivilege)
    assert "CAP_NET_RAW" in str(perm)
    missing = from_oserror(FileNotFoundError(errno.ENOENT, "No such file"), "connect unix:/x")
    assert isinstance(missing, NotFound)


def test_network_error_lists_every_attempt():
    a = NetworkError("connect [::1]:9", errno.ECONNREFUSED)
    b = NetworkError("connect 127.0.0.1:9", errno.ECONNREFUSED)
    exc = NetworkError("connect tcp:localhost:9", errno.ECONNREFUSED, attempts=(a, b))
    assert "[::1]:9" in str(exc) and "127.0.0.1:9" in str(exc)


def test_public_api_is_pinned():
    assert sorted(socklab.__all__) == sorted([
        "BadAddress", "BadInput", "Endpoint", "Lab", "Malformed", "MissingPrivilege",
        "NetworkError", "NotFound", "Server", "SocketRecord", "SocklabError", "Timeout",
        "addresses", "aio",
        "change", "connect", "explain_route", "filter_add", "filter_del", "filter_trace",
        "ipsec_policies", "ipsec_states", "links", "listen", "neighbours", "netns",
        "parse_endpoint", "relay", "route_get", "routes", "rules", "ruleset", "snapshot",
        "socket", "socketpair", "sockets", "sysctl", "trace", "tracing", "ping", "traceroute",
        "scan", "sniff",
    ])
    for name in socklab.__all__:
        assert getattr(socklab, name) is not None


def test_an_ssl_error_is_not_read_as_an_os_errno():
    import ssl

    from socklab.errors import NetworkError, from_oserror

    exc = ssl.SSLError(1, "[SSL: BAD_RECORD_MAC] bad record mac")
    err = from_oserror(exc, "connect tls:tcp:h:1")
    assert isinstance(err, NetworkError) and err.errno_value is None
    assert "Operation not permitted" not in str(err) and "TLS error" in str(err)


@pytest.mark.parametrize(("code", "builtin"), [
    (errno.ECONNREFUSED, ConnectionRefusedError), (errno.ECONNRESET, ConnectionResetError),
    (errno.ECONNABORTED, ConnectionAbortedError), (errno.EPIPE, BrokenPipeError),
    (errno.ETIMEDOUT, OSError), (errno.EHOSTUNREACH, OSError),
])
def test_network_errors_are_the_matching_oserror(code, builtin):
    err = from_oserror(OSError(code, os.strerror(code)), "connect tcp:127.0.0.1:1")
    assert isinstance(err, NetworkError) and isinstance(err, builtin)
    assert err.errno == code and err.strerror == os.strerror(code)
    assert str(err) == f"connect tcp:127.0.0.1:1: {os.strerror(code)}"
    assert err.exit_code == 1

