"""The filter compiler's errors and program shape, the BPF interpreter, the pcap
reader and writer, and tcpdump's relative sequence numbers. Pure: no capture."""

from __future__ import annotations

import struct

import pytest
from capture_samples import SAMPLES, TCP_SYN, eth, ipv4
from hypothesis import given
from hypothesis import strategies as st

from socklab.capture import bpf, pcap
from socklab.capture.decode import decode_packet
from socklab.capture.text import Printer
from socklab.errors import BadInput, Malformed


@pytest.mark.parametrize(("expr", "position", "expected"), [
    ("host", 4, "a value after 'host'"),
    ("port 70000", 5, "a port number"),
    ("tcp and", 7, "a primitive"),
    ("(tcp or udp", 11, "')'"),
    ("host 10.0.0.1 10.0.0.2", 14, "'and', 'or' or the end"),
    ("net 10.0.0.1/8", 4, "a network ADDRESS/LENGTH"),
    ("host example.com", 5, "an address (numeric"),
    ("icmp port 7", 10, "no port after 'icmp'"),
    ("portrange 10", 10, "a port range LOW-HIGH"),
    ("tcp host 10.0.0.1", 9, "no 'host' after 'tcp'"),
    ("ip6 host 10.0.0.1", 9, "an IPv6 address after 'ip6'"),
    ("tcp $ udp", 4, "a word"),
    ("or tcp", 0, "a primitive"),
    ("10.0.0.1", 0, "a primitive"),
])
def test_parse_errors_name_the_position(expr, position, expected):
    with pytest.raises(BadInput) as err:
        bpf.compile_filter(expr)
    assert f"at position {position}: expected {expected}" in str(err.value)


def test_an_empty_filter_keeps_everything():
    program = bpf.compile_filter("  ")
    assert program.instructions == ((bpf.RET | bpf.K, 0, 0, 262144),)
    assert bpf.run(program.instructions, b"") == 262144


def test_the_program_ends_with_keep_and_drop_and_encodes_as_sock_filter():
    program = bpf.compile_filter("tcp port 80", snaplen=1000)
    assert program.instructions[-2:] == ((bpf.RET | bpf.K, 0, 0, 1000),
                                         (bpf.RET | bpf.K, 0, 0, 0))
    assert len(program.encode()) == 8 * len(program.instructions)
    assert all(jt <= 255 and jf <= 255 for _, jt, jf, _ in program.instructions)


def test_the_filter_on_samples():
    syn = eth(0x0800, ipv4(6, TCP_SYN))
    keep = {e: bool(bpf.run(bpf.compile_filter(e).instructions, syn)) for e in (
        "tcp", "udp", "port 80", "src port 40000", "dst port 40000", "host 10.0.0.1",
        "dst host 10.0.0.1", "net 10.0.0.0/8", "portrange 79-81", "not tcp", "ip6")}
    assert keep == {"tcp": True, "udp": False, "port 80": True, "src port 40000": True,
                    "dst port 40000": False, "host 10.0.0.1": True, "dst host 10.0.0.1": False,
                    "net 10.0.0.0/8": True, "portrange 79-81": True, "not tcp": False,
                    "ip6": False}


def test_a_socket_without_link_header_reads_the_protocol_from_ancillary_data():
    program = bpf.compile_filter("tcp port 80", bpf.COOKED_SOCKET).instructions
    packet = ipv4(6, TCP_SYN)
    assert bpf.run(program, packet, protocol=0x0800)
    assert not bpf.run(program, packet, protocol=0x86DD)


def test_the_interpreter_drops_on_a_load_past_the_end():
    program = ((bpf.LD | bpf.W | bpf.ABS, 0, 0, 100), (bpf.RET | bpf.K, 0, 0, 1))
    assert bpf.run(program, bytes(50)) == 0
    assert bpf.run(program, bytes(104)) == 1


@given(st.binary(max_size=120), st.sampled_from(["tcp port 80", "host 10.0.0.2 or arp",
                                                  "icmp6 or udp portrange 1-1000",
                                                  "not ip6 and net 10.0.0.0/8"]))
def test_any_bytes_give_keep_or_drop(data, expr):
    assert bpf.run(bpf.compile_filter(expr).instructions, data) in (0, 262144)


def test_pcap_round_trip_and_both_byte_orders():
    body = pcap.file_header(1, 65535) + pcap.record(1_700_000_000_123_456_000, SAMPLES[0], 80)
    reader = pcap.Reader()
    records = [r for i in range(len(body)) for r in reader.feed(body[i:i + 1])]  # byte by byte
    reader.close()
    assert reader.header == pcap.Header(1, 65535, False, "<")
    assert [(round(r.timestamp, 6), r.data, r.length) for r in records] == [
        (1_700_000_000.123456, SAMPLES[0], 80)]
    swapped = struct.pack(">IHHiIII", pcap.MAGIC_NANO, 2, 4, 0, 0, 65535, 113) + \
        struct.pack(">IIII", 5, 7, 3, 3) + b"abc"
    reader = pcap.Reader()
    (rec,) = reader.feed(swapped)
    assert reader.header == pcap.Header(113, 65535, True, ">")
    assert rec.data == b"abc" and rec.timestamp == pytest.approx(5.000000007)


@pytest.mark.parametrize(("data", "message"), [
    (b"\x0a\x0d\x0d\x0a" + bytes(28), "pcapng"),
    (b"GIF89a" + bytes(30), "is not pcap's"),
    (pcap.file_header(1)[:10], "shorter than its header"),
    (pcap.file_header(1) + pcap.record(0, b"abcdef", 6)[:19], "truncated at offset 24"),
    (pcap.file_header(1) + struct.pack("=IIII", 0, 0, 10**7, 10**7), "bytes kept"),
])
def test_pcap_errors_are_malformed(data, message):
    reader = pcap.Reader()
    with pytest.raises(Malformed, match=message):
        reader.feed(data)
        reader.close()


@given(st.binary(max_size=200))
def test_pcap_reader_only_raises_malformed(data):
    reader = pcap.Reader()
    try:
        reader.feed(pcap.file_header(1) + data)
        reader.close()
    except Malformed:
        pass


def _tcp(sport, dport, seq, ack, flags, payload=b""):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 512, 0, 0)
    hosts = ("10.0.0.1", "10.0.0.2") if sport == 40000 else ("10.0.0.2", "10.0.0.1")
    return decode_packet(eth(0x0800, ipv4(6, header + payload, *hosts)))


def test_relative_sequence_numbers_as_tcpdump():
    p = Printer()
    lines = [p.body(x) for x in (
        _tcp(40000, 80, 1000, 0, 0x02), _tcp(80, 40000, 5000, 1001, 0x12),
        _tcp(40000, 80, 1001, 5001, 0x10), _tcp(40000, 80, 1001, 5001, 0x18, b"hello"),
        _tcp(80, 40000, 5001, 1006, 0x11))]
    assert [line.split(": ", 1)[1] for line in lines] == [
        "Flags [S], seq 1000, win 512, length 0",
        "Flags [S.], seq 5000, ack 1001, win 512, length 0",
        "Flags [.], ack 1, win 512, length 0",
        "Flags [P.], seq 1:6, ack 1, win 512, length 5",
        "Flags [F.], seq 1, ack 6, win 512, length 0"]
    assert Printer(absolute=True).body(_tcp(40000, 80, 1001, 5001, 0x10)).endswith(
        "ack 5001, win 512, length 0")


@pytest.mark.parametrize("count", [1, 1024, 1025, 2500])
def test_write_vectors_writes_every_part_in_order_past_iov_max(tmp_path, count):
    """sniff -w hands a block's records to write_vectors, past IOV_MAX (1024) when
    records are short (snapshot length 128): every part lands, in order."""
    import os

    from socklab.kernel import files

    parts: list[bytes | memoryview] = []
    for i in range(count):
        chunk = bytes([i % 251]) * (i % 37 + 1)
        parts.append(memoryview(chunk) if i % 2 else chunk)
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        files.write_vectors(fd, parts)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(bytes(p) for p in parts)
