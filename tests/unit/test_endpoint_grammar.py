"""The endpoint grammar: round trips and precise errors."""

import contextlib
import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadAddress
from socklab.talk.endpoint import Endpoint, parse

hostnames = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True)
ports = st.one_of(st.integers(0, 65535), st.sampled_from(["http", "https", "ssh", "domain"]))


@st.composite
def inet_endpoints(draw):
    scheme = draw(st.sampled_from(["tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"]))
    if scheme.endswith("4"):
        host = draw(st.one_of(st.just(""), hostnames, st.ip_addresses(v=4).map(str)))
    elif scheme.endswith("6"):
        host = draw(st.one_of(st.just(""), hostnames, st.ip_addresses(v=6).map(str)))
    else:
        host = draw(st.one_of(st.just(""), hostnames, st.ip_addresses().map(str)))
    tls = scheme.startswith("tcp") and draw(st.booleans())
    return Endpoint(scheme, host=host, port=draw(ports), tls=tls)


@st.composite
def local_endpoints(draw):
    scheme = draw(st.sampled_from(["unix", "unix-dgram", "unix-seqpacket", "abstract",
                                   "abstract-dgram", "abstract-seqpacket"]))
    path = draw(st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]),
                        min_size=1, max_size=30))
    return Endpoint(scheme, path=path)


@st.composite
def raw_endpoints(draw):
    scheme = draw(st.sampled_from(["ip4", "ip6", "packet"]))
    if scheme == "packet":
        name = draw(st.from_regex(r"[a-z][a-z0-9._-]{0,14}", fullmatch=True))
        return Endpoint("packet", host=name)
    host = draw(st.one_of(st.just(""), hostnames,
                          st.ip_addresses(v=4 if scheme == "ip4" else 6).map(str)))
    proto = draw(st.one_of(st.integers(1, 254), st.sampled_from(["gre", "ospf", "ipv6-icmp"])))
    return Endpoint(scheme, host=host, port=proto)


@given(st.one_of(inet_endpoints(), local_endpoints(), raw_endpoints()))
def test_every_valid_spec_round_trips(ep):
    assert parse(str(ep)) == ep


@given(st.ip_addresses(v=6), st.integers(0, 65535))
def test_ipv6_literals_need_brackets(ip, port):
    ep = parse(f"tcp:[{ip}]:{port}")
    assert ipaddress.ip_address(ep.host) == ip and ep.port == port


def test_raw_spellings():
    ep = parse("ip4:127.0.0.1:253")
    assert (ep.family, ep.type, ep.port, ep.is_raw, ep.is_inet) == (
        socket.AF_INET, socket.SOCK_RAW, 253, True, False)
    assert parse("ip6::gre") == Endpoint("ip6", "", "gre")
    assert parse("ip6:[::1]:58").family == socket.AF_INET6
    assert parse("packet:veth0") == Endpoint("packet", host="veth0")
    assert parse("packet:veth0").family == socket.AF_PACKET


def test_spellings():
    assert parse("-") == parse("stdio") == Endpoint("stdio")
    assert parse("tcp::8080") == Endpoint("tcp", "", 8080)
    assert parse("tcp:localhost:http").port == "http"
    assert parse("abstract:x").sockaddr == b"\0x"
    assert parse("exec:cat -n 'a b'").argv == ("cat", "-n", "a b")
    assert parse("tls:tcp:example.test:443").tls


@pytest.mark.parametrize(("text", "position", "expected"), [
    ("tcp", 3, "':'"),
    ("bogus:x", 0, "endpoint type"),
    ("tcp:host", 8, "':PORT'"),
    ("tcp:host:", 9, "port number"),
    ("tcp:host:70000", 9, "0 to 65535"),
    ("tcp:host:012", 9, "0 to 65535"),
    ("tcp:::1:80", 4, "brackets"),
    ("tcp:[::1:80", 11, "']'"),
    ("tcp:[zz]:80", 5, "IPv6"),
    ("tcp4:[::1]:80", 5, "IPv4"),
    ("tcp:ho st:1", 6, "host"),
    ("unix:", 5, "a path"),
    ("abstract:", 9, "a name"),
    ("exec:", 5, "program"),
    ("tls:udp:h:1", 4, "TCP endpoint"),
    ("udp:h:x y", 7, "service"),
    ("ip4:h:0", 6, "1 to 254"),
    ("ip4:h:255", 6, "1 to 254"),
    ("ip4:h:0253", 6, "1 to 254"),
    ("ip4:h:", 6, "protocol number or name"),
    ("ip4:h", 5, "':PROTO'"),
    ("ip6:[::1]", 9, "':PROTO'"),
    ("ip4:[::1]:1", 4, "this is ip4"),
    ("ip6:h:a b", 7, "protocol number or name"),
    ("packet:", 7, "interface name"),
    ("packet:eth0:1", 11, "no '/', ':' or space"),
    ("packet:a/b", 8, "no '/'"),
    ("packet:sixteen-bytes-na", 7, "15 bytes"),
    ("packet:..", 7, "other than '.' and '..'"),
    ("packet:.", 7, "other than '.' and '..'"),
])
def test_bad_specs_say_where_and_what(text, position, expected):
    with pytest.raises(BadAddress) as exc:
        parse(text)
    assert exc.value.position == position, exc.value
    assert expected in exc.value.expected


@given(st.text(max_size=40))
def test_only_our_error_escapes(text):
    with contextlib.suppress(BadAddress):
        parse(text)
