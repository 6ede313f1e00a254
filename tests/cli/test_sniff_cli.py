"""socklab sniff on files: bad input is one line and its exit code; -r and -w on
pcap files socklab wrote itself (no capture, no privilege)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from capture_samples import MORE_SAMPLES, SAMPLES
from helpers import need_tool, run_cli

from socklab.capture import pcap


@pytest.fixture
def sample_pcap(tmp_path):
    path = tmp_path / "samples.pcap"
    path.write_bytes(pcap.file_header(1) + b"".join(
        pcap.record(1_700_000_000_000_000_000 + i * 1000, s, len(s))
        for i, s in enumerate(SAMPLES)))
    return path


def _one_error_line(proc, code: int, *words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert err.startswith("socklab: error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


def test_missing_file_is_exit_2(tmp_path):
    _one_error_line(run_cli("sniff", "-r", str(tmp_path / "nope.pcap")), 2, "nope.pcap")


def test_not_a_pcap_file_is_exit_1(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(40))
    _one_error_line(run_cli("sniff", "-r", str(path)), 1, "pcapng")


@pytest.mark.parametrize(("args", "words"), [
    (["port", "99999"], ("position 5", "port number")),
    (["-c", "0"], ("count 0",)),
    (["-i", "lo"], ("-i and -r",)),
    (["-s", "10"], ("snapshot length",)),
])
def test_bad_arguments_are_exit_2(sample_pcap, args, words):
    _one_error_line(run_cli("sniff", "-r", str(sample_pcap), *args), 2, *words)


def test_an_unknown_interface_is_exit_2():
    _one_error_line(run_cli("sniff", "-i", "nosuchdev0"), 2, "nosuchdev0")


def test_read_filter_and_json(sample_pcap):
    proc = run_cli("sniff", "-r", str(sample_pcap), "tcp or arp")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 3  # the SYN over IPv4 and over IPv6, the ARP request
    assert "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28" in lines[1]
    assert "10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000" in lines[0]
    proc = run_cli("--json", "sniff", "-r", str(sample_pcap), "-c", "1", "udp")
    (record,) = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert record["transport"] == {"layer": "UDP", "src_port": 40001, "dst_port": 20002,
                                   "length": 11, "checksum": 0}


def test_write_a_filtered_copy_tcpdump_reads(sample_pcap, tmp_path):
    out = tmp_path / "copy.pcap"
    proc = run_cli("sniff", "-r", str(sample_pcap), "-w", str(out), "icmp or icmp6")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.pcap", "samples.pcap"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as tcpdump -w, not mkstemp's 0600
    reader = pcap.Reader()
    records = reader.feed(out.read_bytes())
    reader.close()
    # not the NA: 'icmp6' looks behind a fragment header only, not hop-by-hop (libpcap)
    assert [r.data for r in records] == [SAMPLES[2], SAMPLES[3], SAMPLES[5]]
    need_tool("tcpdump")
    theirs = subprocess.run(["tcpdump", "-n", "-r", str(out)], capture_output=True,
                            text=True, check=True)
    assert theirs.stderr.count("\n") == 1 and len(theirs.stdout.splitlines()) == 3


def test_every_sample_as_tcpdump_prints_it(tmp_path):
    """ICMP errors of every kind, neighbour discovery, ARP replies and probes, TCP
    flags in tcpdump's order, SACK relative to the conversation, a later fragment."""
    need_tool("tcpdump")
    path = tmp_path / "all.pcap"
    samples = SAMPLES + MORE_SAMPLES
    path.write_bytes(pcap.file_header(1) + b"".join(
        pcap.record(1_700_000_000_000_000_000 + i * 1000, s, len(s))
        for i, s in enumerate(samples)))
    theirs = subprocess.run(["tcpdump", "-n", "-r", str(path)], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    ours = run_cli("sniff", "-r", str(path)).stdout.decode().splitlines()
    assert len(ours) == len(samples)
    assert [line.split() for line in ours] == [line.split() for line in theirs]


def test_a_write_into_a_missing_folder_leaves_nothing(sample_pcap, tmp_path):
    proc = run_cli("sniff", "-r", str(sample_pcap), "-w", str(tmp_path / "no" / "x.pcap"))
    _one_error_line(proc, 2, "x.pcap")
