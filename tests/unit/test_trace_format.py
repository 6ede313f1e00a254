import errno
import ipaddress
import json

from hypothesis import given
from hypothesis import strategies as st

from socklab.trace import TraceEvent, format_address


@given(st.ip_addresses(v=4), st.integers(0, 65535))
def test_ipv4_address_reads_host_colon_port(ip, port):
    text = format_address((str(ip), port))
    host, _, p = text.rpartition(":")
    assert ipaddress.ip_address(host) == ip and int(p) == port


@given(st.ip_addresses(v=6), st.integers(0, 65535))
def test_ipv6_address_is_bracketed(ip, port):
    text = format_address((str(ip), port, 0, 0))
    assert text.startswith("[") and text.endswith(f"]:{port}")
    assert ipaddress.ip_address(text[1:text.index("]")]) == ip


def test_unix_addresses():
    assert format_address("/run/x.sock") == "/run/x.sock"
    assert format_address(b"\0name") == "@name"
    assert format_address("\0name") == "@name"
    assert format_address("") == "(unnamed)"


def test_event_text_and_json():
    ok = TraceEvent("bind", 5, ("127.0.0.1:0",), "ok")
    assert ok.text() == "bind(fd 5, 127.0.0.1:0) = ok"
    failed = TraceEvent("connect", 7, ("127.0.0.1:1",), None, errno.ECONNREFUSED,
                        "Connection refused")
    assert failed.text() == "connect(fd 7, 127.0.0.1:1) = -1 ECONNREFUSED (Connection refused)"
    d = json.loads(json.dumps(failed.as_dict()))
    assert d["errno"] == "ECONNREFUSED" and d["fd"] == 7 and d["result"] is None
    made = TraceEvent("socket", None, ("AF_INET", "SOCK_STREAM", "0"), "fd 5")
    assert made.text() == "socket(AF_INET, SOCK_STREAM, 0) = fd 5"
