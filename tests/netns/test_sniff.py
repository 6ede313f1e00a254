"""socklab sniff against tcpdump, on traffic the tests make in their own namespaces.

Each test captures with ``socklab sniff -w`` and ``tcpdump -w`` at once, then
checks, field by field (whitespace-separated words, not spacing):
- ``tcpdump -n -r`` of socklab's file prints what ``socklab sniff -r`` prints for
  it, and reads it without a warning (stderr is only its "reading from" line);
- ``socklab sniff -r`` of tcpdump's file prints what ``tcpdump -n -r`` prints;
- both captured the same packets (lines without their timestamps).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from capture_tools import settle
from helpers import SOCKLAB, need_tool, veth_link

pytestmark = pytest.mark.privileged

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class Capture:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = self.err = ""
        self.returncode: int | None = None


@contextlib.contextmanager
def capturing(ns, *cmd: str) -> Iterator[Capture]:
    """Run a capture in ``ns`` until the block ends (SIGTERM, as a user's kill);
    then its remaining output is in ``.out``/``.err``."""
    if cmd[0] == "tcpdump":  # each packet written at once: its last ones are not lost
        cmd = (*cmd[:1], "--immediate-mode", "-U", *cmd[1:])
    proc = ns.popen(*cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killer = threading.Timer(60, proc.kill)  # a capture that never starts fails, not hangs
    killer.start()
    capture = Capture(proc)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        if first.startswith("tcpdump: data link type"):  # tcpdump -y says it first
            first = proc.stderr.readline().decode()
        assert "listening on" in first, first
        yield capture
        if "-w" in cmd:
            settle(cmd[cmd.index("-w") + 1])
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        killer.cancel()
        capture.out, capture.err = out.decode(), err.decode()
        capture.returncode = proc.returncode


def tcpdump_lines(path: str, *expr: str) -> list[str]:
    proc = subprocess.run(["tcpdump", "-n", "-r", path, *expr], capture_output=True, text=True,
                          check=True)
    assert proc.stderr.startswith("reading from file") and proc.stderr.count("\n") == 1, \
        proc.stderr
    return proc.stdout.splitlines()


def socklab_lines(path: str, *args: str) -> list[str]:
    proc = subprocess.run([*SOCKLAB, "sniff", "-r", path, *args], capture_output=True,
                          text=True, check=True)
    return proc.stdout.splitlines()


def words(lines: list[str], timestamps: bool = True) -> list[list[str]]:
    return [line.split()[0 if timestamps else 1:] for line in lines]


def compare_both_ways(mine: str, theirs: str, expected: tuple[str, ...],
                      same: bool = True) -> None:
    """The checks of the module docstring, and ``expected`` in both captures.
    ``same=False`` where the kernel sends packets of its own (neighbour discovery
    on a link) that one capture may see and the other not, at its start or end."""
    ours = socklab_lines(mine)
    assert words(ours) == words(tcpdump_lines(mine))
    assert words(socklab_lines(theirs)) == words(tcpdump_lines(theirs))
    if same:
        assert sorted(words(ours, False)) == sorted(words(tcpdump_lines(theirs), False))
    for lines in (ours, tcpdump_lines(theirs)):
        text = "\n".join(lines)
        for e in expected:
            assert e in text, e
    return None


def tcp_exchange(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as server:
        server.bind((host, port))
        server.listen()
        with socket.create_connection((host, port)) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"hello")
                assert conn.recv(16) == b"hello"
                client.shutdown(socket.SHUT_WR)
                assert conn.recv(16) == b""


def udp_to_closed_port(host: str, port: int) -> None:
    """A datagram to a closed port, returning once its ICMP error is back (the
    connected socket gets ECONNREFUSED): the captures have seen both by then."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(30)
        s.connect((host, port))
        s.send(b"abc")
        with pytest.raises(ConnectionRefusedError):
            s.recv(16)


def test_loopback_tcp_udp_ping_v4_and_v6(netns, tmp_path):
    need_tool("tcpdump", "ping")
    mine, theirs = str(tmp_path / "socklab.pcap"), str(tmp_path / "tcpdump.pcap")
    with capturing(netns, *SOCKLAB, "sniff", "-i", "lo", "-w", mine) as proc, \
            capturing(netns, "tcpdump", "-i", "lo", "-w", theirs):
        for host in ("127.0.0.1", "::1"):
            netns.run(tcp_exchange, host, 20001)
            netns.run(udp_to_closed_port, host, 20002)
        netns.exec("ping", "-c", "1", "127.0.0.1")
        netns.exec("ping", "-6", "-c", "1", "::1")
    assert proc.returncode == 0, proc.err
    assert sorted(os.listdir(tmp_path)) == ["socklab.pcap", "tcpdump.pcap"]  # no temp file
    compare_both_ways(mine, theirs, (
        "Flags [S]", "Flags [S.]", "Flags [P.], seq 1:6", "Flags [F.]", "UDP, length 3",
        "127.0.0.1 udp port 20002 unreachable",
        "ICMP6, destination unreachable, unreachable port, ::1 udp port 20002",
        "ICMP echo request", "ICMP echo reply", "ICMP6, echo request", "ICMP6, echo reply",
        "IP6 ::1."))
    stats = proc.err
    assert f"{len(tcpdump_lines(mine))} packets captured" in stats
    assert "packets received by filter" in stats and "0 packets dropped by kernel" in stats
    # -v: the IP header's fields as tcpdump -v writes them (up to the first ')';
    # the transport part differs: tcpdump checks checksums, socklab does not)
    headers = verbose_headers(tcpdump_lines(mine, "-v"))
    assert len(headers) > 20 and headers[0][1:6] == ["IP", "(tos", "0x0,", "ttl", "64,"]
    assert verbose_headers(socklab_lines(mine, "-v")) == headers


def verbose_headers(lines: list[str]) -> list[list[str]]:
    return [line.split(")", 1)[0].split() for line in lines if line[:1].isdigit()]


def test_veth_arp_neighbour_discovery_tcp_udp_ping(netns_factory, tmp_path):
    need_tool("tcpdump", "ping")
    a, b = netns_factory(), netns_factory()
    veth_link(a, "va", b, "vb", "10.9.0.1/24", "10.9.0.2/24")
    a.ip("addr", "add", "fd09::1/64", "dev", "va", "nodad")
    b.ip("addr", "add", "fd09::2/64", "dev", "vb", "nodad")
    mine, theirs = str(tmp_path / "socklab.pcap"), str(tmp_path / "tcpdump.pcap")
    # router solicitations and MLD reports come when they please: leave them out,
    # which also runs the compiler's program in the kernel
    quiet = "not (dst host ff02::2 or dst host ff02::16)"
    with capturing(a, *SOCKLAB, "sniff", "-i", "va", "-w", mine, quiet), \
            capturing(a, "tcpdump", "-i", "va", "-w", theirs, quiet):
        a.exec("ping", "-c", "1", "10.9.0.2")
        a.exec("ping", "-c", "1", "fd09::2")
        server = threading.Thread(target=b.run, args=(tcp_exchange_server, "10.9.0.2", 20001))
        server.start()
        a.run(connect_when_listening, "10.9.0.2", 20001)
        server.join(30)
        a.run(udp_to_closed_port, "10.9.0.2", 20002)
    compare_both_ways(mine, theirs, (
        "ARP, Request who-has 10.9.0.2 tell 10.9.0.1", "ARP, Reply 10.9.0.2 is-at",
        "ICMP6, neighbor solicitation, who has fd09::2",
        "ICMP6, neighbor advertisement, tgt is fd09::2",
        "10.9.0.1 > 10.9.0.2: ICMP echo request", "10.9.0.2 > 10.9.0.1: ICMP echo reply",
        "ICMP6, echo reply", "Flags [S.]", "Flags [P.], seq 1:6",
        "10.9.0.2 udp port 20002 unreachable"), same=False)
    text = "\n".join(socklab_lines(mine))
    assert "ff02::16" not in text and "ff02::2:" not in text


_ready = threading.Event()


def tcp_exchange_server(host: str, port: int) -> None:
    with socket.socket() as server:
        server.bind((host, port))
        server.listen()
        _ready.set()
        server.settimeout(30)
        conn, _ = server.accept()
        with conn:
            assert conn.recv(16) == b"hello"


def connect_when_listening(host: str, port: int) -> None:
    assert _ready.wait(30)
    _ready.clear()
    with socket.create_connection((host, port), timeout=30) as c:
        c.sendall(b"hello")


def test_any_writes_linux_cooked_and_count_stops(netns, tmp_path):
    need_tool("tcpdump", "ping")
    mine = str(tmp_path / "any.pcap")
    proc = netns.popen(*SOCKLAB, "sniff", "-c", "4", "-w", mine, "icmp",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    assert "LINUX_SLL" in proc.stderr.readline().decode()
    netns.exec("ping", "-c", "3", "-i", "0.2", "127.0.0.1")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    theirs = tcpdump_lines(mine)
    assert len(theirs) == 4 and all("ICMP echo" in line for line in theirs)
    assert words(socklab_lines(mine)) == words(theirs)
    assert "4 packets captured" in err.decode()


def test_json_one_object_per_packet(netns):
    need_tool("ping")
    proc = netns.popen(*SOCKLAB, "--json", "sniff", "-i", "lo", "-c", "2", "icmp",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    assert "listening on" in proc.stderr.readline().decode()
    netns.exec("ping", "-c", "1", "127.0.0.1")
    out, _ = proc.communicate(timeout=30)
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["transport"]["type"] for r in records] == [8, 0]
    assert records[0]["network"] == records[0]["network"] | {
        "layer": "IPv4", "src": "127.0.0.1", "dst": "127.0.0.1", "protocol": 1}


def test_the_kernel_filter_keeps_what_tcpdump_keeps(netns, tmp_path):
    need_tool("tcpdump", "ping")
    everything = str(tmp_path / "all.pcap")
    expr = "udp port 20002 or (icmp and host 127.0.0.1)"
    with capturing(netns, "tcpdump", "-i", "lo", "-w", everything), \
            capturing(netns, *SOCKLAB, "sniff", "-i", "lo", expr) as proc:
        netns.run(tcp_exchange, "127.0.0.1", 20001)
        netns.run(udp_to_closed_port, "127.0.0.1", 20002)
        netns.run(udp_to_closed_port, "127.0.0.1", 20003)
        netns.exec("ping", "-c", "1", "127.0.0.1")
    live = proc.out.splitlines()
    kept = tcpdump_lines(everything, expr)
    assert len(kept) == 5  # UDP, its port unreachable, the other's, echo request and reply
    assert sorted(words(live, False)) == sorted(words(kept, False))


def test_sigkill_leaves_no_file_under_the_final_name(netns, tmp_path):
    path = tmp_path / "never.pcap"
    with capturing(netns, *SOCKLAB, "sniff", "-i", "lo", "-w", str(path)) as capture:
        capture.proc.kill()
    assert not path.exists()
    # at most the hidden temporary file (none when killed before it was made)
    assert all(name.startswith(".never.pcap.") for name in os.listdir(tmp_path))


def test_without_cap_net_raw_exit_77_naming_it(netns):
    need_tool("setpriv")
    proc = netns.exec(*NOBODY, *SOCKLAB, "sniff", "-i", "lo", "-c", "1", check=False)
    assert proc.returncode == 77, proc.stderr
    assert "CAP_NET_RAW" in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("socklab: error: ")


def test_ctrl_c_ends_the_capture_and_keeps_the_file(netns, tmp_path):
    need_tool("ping")
    path = tmp_path / "ctrl-c.pcap"
    proc = netns.popen(*SOCKLAB, "sniff", "-i", "lo", "-w", str(path), "icmp",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    assert "listening on" in proc.stderr.readline().decode()
    netns.exec("ping", "-c", "1", "127.0.0.1")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "2 packets captured" in err.decode()
    assert len(tcpdump_lines(str(path))) == 2
    assert os.listdir(tmp_path) == ["ctrl-c.pcap"]


def test_the_library_yields_decoded_records(netns):
    """socklab.sniff() as a user calls it: records, not text; stats at the end."""
    need_tool("ping")
    import socklab
    from socklab.capture.decode import ICMP, IPv4

    def capture_a_ping():
        with socklab.sniff("lo", count=2, filter="icmp", timeout=30) as capture:
            subprocess.run(["ping", "-c", "1", "127.0.0.1"], check=True, capture_output=True)
            packets = list(capture)
        return packets, capture.stats

    packets, stats = netns.run(capture_a_ping)
    assert [type(p.network) for p in packets] == [IPv4, IPv4]
    assert [(p.transport.type, p.transport.seq) for p in packets
            if isinstance(p.transport, ICMP)] == [(8, 1), (0, 1)]
    assert stats.captured == 2 and stats.received == 2 and stats.dropped == 0


def bulk_exchange(host: str, port: int, size: int) -> None:
    """``size`` bytes over one TCP connection, read whole by the other end."""
    with socket.socket() as server:
        server.bind((host, port))
        server.listen()
        with socket.create_connection((host, port)) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(bytes(range(256)) * (size // 256))
                client.shutdown(socket.SHUT_WR)
                got = 0
                while chunk := conn.recv(1 << 16):
                    got += len(chunk)
                assert got == size


def records(path: str) -> list[tuple[float, bytes, int]]:
    from socklab.capture import pcap

    reader = pcap.Reader()
    with open(path, "rb") as f:
        found = reader.feed(f.read())
    reader.close()
    return [(r.timestamp, r.data, r.length) for r in found]


@pytest.mark.parametrize("device", ["lo", "any"])
def test_written_records_are_tcpdumps_bytes_over_many_blocks(netns, tmp_path, device):
    """-w builds each record's header in the ring, before its frame: over a
    transfer that fills many 256 KiB blocks, the file holds the very records
    (bytes and length) tcpdump writes, Ethernet on lo, Linux cooked v1 on any,
    and the counters say none was dropped (an 8 MiB ring for 1 MiB; tcpdump gets
    64 MiB: in --immediate-mode libpcap uses TPACKET_V2, one fixed-size slot per
    frame, and its ring also takes lo's outgoing copies). Each socket takes its
    own timestamp, a few microseconds apart: they are compared loosely."""
    need_tool("tcpdump", "ping")
    mine, theirs = str(tmp_path / "socklab.pcap"), str(tmp_path / "tcpdump.pcap")
    expr = "tcp port 20005 or icmp"
    cooked = ["-y", "LINUX_SLL"] if device == "any" else []
    with capturing(netns, *SOCKLAB, "sniff", "-i", device, "-B", "8192", "-w", mine,
                   expr) as proc, \
            capturing(netns, "tcpdump", "-i", device, *cooked, "-B", "65536", "-w", theirs,
                      expr) as other:
        netns.exec("ping", "-c", "1", "127.0.0.1")
        netns.run(bulk_exchange, "127.0.0.1", 20005, 1 << 20)
        netns.exec("ping", "-c", "1", "127.0.0.1")
    for err in (proc.err, other.err):
        assert "\n0 packets dropped by kernel\n" in err, err
    ours = records(mine)
    assert sum(len(data) for _, data, _ in ours) > 1 << 20  # several blocks' worth
    them = records(theirs)
    assert [r[1:] for r in ours] == [r[1:] for r in them]
    assert all(abs(a[0] - b[0]) < 1 for a, b in zip(ours, them, strict=True))
    assert [r[0] for r in ours] == sorted(r[0] for r in ours)
    assert f"{len(ours)} packets captured" in proc.err
