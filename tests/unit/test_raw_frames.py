"""The raw endpoints' pure parts: hex frame lines, bounded line reading, protocol
names, and struct sockaddr_ll in the trace."""

import contextlib
import os
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadInput, NotFound, SocklabError
from socklab.talk import raw
from socklab.talk.endpoint import parse
from socklab.trace import format_address

ETHER = raw.Link("veth0", 5, 1500, raw.ARPHRD_ETHER)
TUN = raw.Link("tun0", 6, 1400, raw.ARPHRD_NONE)


def test_a_frame_line_round_trips():
    frame = bytes(range(60))
    assert raw.frame_line(frame) == frame.hex().encode() + b"\n"
    assert raw.parse_frame_line(raw.frame_line(frame), ETHER) == frame
    assert raw.parse_frame_line(b"ff ff ff ff ff ff 02 00 00 00 00 01 88 b5\r\n", ETHER) == \
        bytes.fromhex("ffffffffffff02000000000188b5")


def test_blank_and_comment_lines_are_skipped():
    assert raw.parse_frame_line(b"\n", ETHER) is None
    assert raw.parse_frame_line(b"  # an ARP request\n", ETHER) is None


def test_frame_sizes_follow_the_device():
    assert raw.parse_frame_line(b"00" * 1514, ETHER) == bytes(1514)
    with pytest.raises(BadInput, match=r"MTU is 1500 \(at most 1514 bytes"):
        raw.parse_frame_line(b"00" * 1515, ETHER, 3)
    with pytest.raises(BadInput, match="shorter than its 14-byte link header"):
        raw.parse_frame_line(b"00" * 13, ETHER)
    assert raw.parse_frame_line(b"45", TUN) == b"\x45"  # no link header on a tun
    with pytest.raises(BadInput, match="line 7: expected a frame in hex"):
        raw.parse_frame_line(b"0g", ETHER, 7)


@given(st.binary(max_size=200))
def test_only_our_error_escapes(line):
    with contextlib.suppress(SocklabError):
        raw.parse_frame_line(line, ETHER)


def test_lines_are_bounded():
    r, w = os.pipe()
    os.write(w, b"ab\ncd\n" + b"e" * 100)
    os.close(w)
    got = raw.lines(r, limit=50)
    assert next(got) == b"ab" and next(got) == b"cd"
    with pytest.raises(BadInput, match="over 50 bytes"):
        next(got)
    os.close(r)


def test_last_line_without_newline():
    r, w = os.pipe()
    os.write(w, b"ab\ncd")
    os.close(w)
    assert list(raw.lines(r)) == [b"ab", b"cd"]
    os.close(r)


def test_protocol_names():
    table = {"gre": 47, "ip": 0, "raw": 255}.copy
    assert raw.protocol_number(parse("ip4:h:253"), table) == 253
    assert raw.protocol_number(parse("ip4:h:GRE"), table) == 47
    with pytest.raises(NotFound, match="unknown protocol 'nope'"):
        raw.protocol_number(parse("ip4:h:nope"), table)
    for name in ("ip", "raw"):
        with pytest.raises(BadInput, match="give 1 to 254"):
            raw.protocol_number(parse(f"ip4:h:{name}"), table)


def test_etc_protocols_is_read(tmp_path):
    from socklab.kernel.procfs import read_protocols

    path = tmp_path / "protocols"
    path.write_text("# comment\nip 0 IP\ngre\t47\tGRE  # General Routing\nbad x X\n"
                    "big 300 BIG\n")
    assert read_protocols(str(path)) == {"ip": 0, "gre": 47}
    assert read_protocols(str(tmp_path / "absent")) == {}


def test_sockaddr_ll_as_strace_names_its_fields():
    af = socket.AF_PACKET
    assert format_address(("lo", 3), af) == \
        '{sll_protocol=htons(ETH_P_ALL), sll_ifindex=if_nametoindex("lo")}'
    text = format_address(("vb", 0x0800, 1, 1, b"\x02\0\0\0\0\x01"), af)
    assert text == ('{sll_protocol=htons(ETH_P_IP), sll_ifindex=if_nametoindex("vb"), '
                    "sll_hatype=ARPHRD_ETHER, sll_pkttype=PACKET_BROADCAST, "
                    "sll_addr=02:00:00:00:00:01}")


@pytest.mark.parametrize("argv", [
    ["relay", "stdio", "ip4:127.0.0.1:253"],
    ["relay", "--listen", "packet:lo", "tcp:127.0.0.1:1"],
    ["listen", "ip4::253", "--echo"],
    ["listen", "packet:lo", "--keep-open"],
    ["connect", "ip4:127.0.0.1:253", "--source", "127.0.0.1"],
    ["connect", "ip4::253"],
])
def test_raw_endpoints_refuse_what_they_cannot_do(argv, capsys):
    from socklab.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("socklab: error: ") and err.count("\n") == 1, err
