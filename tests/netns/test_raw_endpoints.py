"""Raw endpoints against real peers, in namespaces the tests make.

- ``ip4:``/``ip6:``: socat's IP4-SENDTO/IP4-RECV (and IP6-) exchange datagrams of
  protocol 253 with ``socklab connect``/``listen`` on the namespace's loopback; both
  give the payload alone (socat strips the IPv4 header too).
- ``packet:``: across a veth pair, socat's INTERFACE: receives the frame socklab
  sends and sends one socklab prints; tcpdump sees the frame socklab sent and
  prints the line ``-v`` printed.
- Without CAP_NET_RAW (setpriv as nobody): exit 77 naming it.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import threading
from collections.abc import Iterator

import pytest
from helpers import SOCKLAB, need_tool

pytestmark = pytest.mark.privileged

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PROTO = 253  # RFC 3692: for experiments


@contextlib.contextmanager
def started(ns, *cmd: str, ready: str) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` running in ``ns`` once its stderr said ``ready``; killed after the block
    (and after 60 s at most: a peer that never answers fails the test, not hangs it)."""
    proc = ns.popen(*cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    killer = threading.Timer(60, proc.kill)
    killer.start()
    try:
        assert proc.stderr is not None
        for _ in range(20):
            line = proc.stderr.readline().decode()
            if ready in line or not line:
                break
        assert ready in line, line
        yield proc
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def read_exactly(proc: subprocess.Popen[bytes], size: int) -> bytes:
    assert proc.stdout is not None
    got = b""
    while len(got) < size:
        chunk = os.read(proc.stdout.fileno(), size - len(got))
        assert chunk, f"end of output after {got!r}"
        got += chunk
    return got


def socklab_listen(ns, *args: str) -> subprocess.Popen[bytes]:
    return ns.popen(*SOCKLAB, *args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, bytes, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err.decode()


def wait_listening(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening on" in line, line + (proc.stderr.read() or b"").decode()


@pytest.mark.parametrize(("family", "host", "socat_send"), [
    ("ip4", "127.0.0.1", f"IP4-SENDTO:127.0.0.1:{PROTO}"),
    ("ip6", "[::1]", f"IP6-SENDTO:[::1]:{PROTO}"),
])
def test_listen_prints_what_socat_sends(netns, family, host, socat_send):
    need_tool("socat")
    proc = socklab_listen(netns, "listen", f"{family}:{host}:{PROTO}", "--max-clients", "2")
    wait_listening(proc)
    for word in (b"first", b"second!"):
        netns.exec("sh", "-c", f"printf {word.decode()} | socat -u - {socat_send}")
    code, out, err = finish(proc)
    assert code == 0, err
    assert out == b"firstsecond!"  # the payloads alone: no IP header on stdout
    lines = err.splitlines()
    assert len(lines) == 2, err
    if family == "ip4":  # the IPv4 raw socket saw the header; its length is said
        assert lines[0] == "socklab: 5 bytes from 127.0.0.1 (after its 20-byte IPv4 header)"
    else:  # an IPv6 raw socket gets the payload alone (RFC 3542 section 3)
        assert lines[0] == "socklab: 5 bytes from ::1"


@pytest.mark.parametrize(("family", "host", "socat_recv"), [
    ("ip4", "127.0.0.1", f"IP4-RECV:{PROTO}"),
    ("ip6", "[::1]", f"IP6-RECV:{PROTO}"),
])
def test_connect_sends_what_socat_receives(netns, family, host, socat_recv):
    need_tool("socat")
    with started(netns, "socat", "-d", "-d", "-u", socat_recv, "-",
                 ready="starting data transfer loop") as peer:
        sent = netns.exec(*SOCKLAB, "connect", f"{family}:{host}:{PROTO}",
                          input="raw payload", check=False)
        assert sent.returncode == 0, sent.stderr
        assert read_exactly(peer, 11) == b"raw payload"


def test_protocol_by_name_and_trace(netns):
    """``ip4:HOST:gre``: the name from /etc/protocols; --trace shows the raw socket."""
    need_tool("socat")
    with started(netns, "socat", "-d", "-d", "-u", "IP4-RECV:47", "-",
                 ready="starting data transfer loop") as peer:
        sent = netns.exec(*SOCKLAB, "--trace", "connect", "ip4:127.0.0.1:gre",
                          input="x", check=False)
        assert read_exactly(peer, 1) == b"x"
    lines = sent.stderr.splitlines()
    assert lines[0].startswith("socket(AF_INET, SOCK_RAW, IPPROTO_GRE) = fd "), lines
    assert lines[1].endswith(", 127.0.0.1:0) = ok") and lines[1].startswith("connect(fd ")
    assert any(line.endswith("1 bytes) = 1") and line.startswith("send(") for line in lines)


def test_protocol_unreachable_exits_1(netns):
    """Nothing handles protocol 253 at 127.0.0.2: the host answers ICMP protocol
    unreachable, which a connected raw socket hears (ENOPROTOOPT). The kernel passes
    an ICMP error on only when it quotes 8 bytes after the IP header
    (icmp_socket_deliver): the payload is 8 bytes or more."""
    proc = netns.exec(*SOCKLAB, "connect", f"ip4:127.0.0.2:{PROTO}", "-w", "5",
                      input="8 bytes!", check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"socklab: 127.0.0.2 handles no protocol {PROTO} " \
                          "(ICMP protocol unreachable)\n"


@pytest.mark.parametrize(("proto", "shortest"), [("58", 4), ("ipv6-icmp", 4), ("135", 6)])
def test_ipv6_payload_too_short_for_its_checksum_exit_2(netns, proto, shortest):
    """The kernel writes the ICMPv6 (and Mobility Header) checksum of what a raw socket
    sends, and refuses a payload too short to hold it with EINVAL: said as such."""
    proc = netns.exec(*SOCKLAB, "connect", f"ip6:[::1]:{proto}", input="hi\n", check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"socklab: error: ip6:[::1]:{proto}: a datagram of 3 bytes; " \
        f"protocol {proto if proto.isdigit() else 58} needs {shortest} or more (the kernel " \
        "writes its checksum: RFC 3542 3.1)\n"
    # a payload that holds the checksum is sent
    sent = netns.exec(*SOCKLAB, "connect", f"ip6:[::1]:{proto}", "-w", "0.2",
                      input="x" * shortest, check=False, errors="replace")
    assert sent.returncode == 0, sent.stderr


def test_round_trip_between_two_socklabs(netns):
    proc = socklab_listen(netns, "--trace", "listen", f"ip4:127.0.0.2:{PROTO}",
                          "--max-clients", "1", "-v")
    assert proc.stderr is not None
    trace = [proc.stderr.readline().decode() for _ in range(2)]
    wait_listening(proc)
    sent = netns.exec(*SOCKLAB, "connect", f"ip4:127.0.0.2:{PROTO}", input="hello",
                      check=False)
    assert sent.returncode == 0, sent.stderr
    code, out, err = finish(proc)
    assert code == 0 and out == b"hello", err
    assert trace[0].startswith(f"socket(AF_INET, SOCK_RAW, {PROTO}) = fd ")
    assert trace[1].endswith(", 127.0.0.2:0) = ok\n") and trace[1].startswith("bind(")
    # the recvfrom saw 25 bytes (the header too); -v decodes the packet as tcpdump would
    assert "25 bytes from 127.0.0.1:0" in err
    assert f"IP 127.0.0.1 > 127.0.0.2: ip-proto-{PROTO} 5" in err


# -- packet: ---------------------------------------------------------------------

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


@pytest.fixture
def wire(netns_factory):
    """Two namespaces joined by a veth pair (va, vb) with fixed MACs and no IPv6 (no
    router solicitation or MLD frame comes between the test's own)."""
    a, b = netns_factory(), netns_factory()
    a.ip("link", "add", "va", "address", MAC_A, "type", "veth", "peer", "name", "vb",
         "address", MAC_B, "netns", b.name)
    for ns, dev, addr in ((a, "va", "10.9.0.1/24"), (b, "vb", "10.9.0.2/24")):
        ns.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        ns.exec("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        ns.ip("addr", "add", addr, "dev", dev)
        ns.ip("link", "set", dev, "up")
    return a, b


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def udp_frame(payload: bytes) -> bytes:
    """An Ethernet frame from va to vb holding IPv4/UDP 10.9.0.1:5000 > 10.9.0.2:7."""
    udp = struct.pack("!HHHH", 5000, 7, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    words = struct.unpack("!10H", ip)
    total = sum(words)
    total = (total & 0xFFFF) + (total >> 16)
    ip = ip[:10] + struct.pack("!H", ~total & 0xFFFF) + ip[12:]
    return mac(MAC_B) + mac(MAC_A) + b"\x08\x00" + ip + udp


def test_packet_connect_frame_reaches_socat_and_tcpdump(wire):
    need_tool("socat", "tcpdump")
    a, b = wire
    frame = udp_frame(b"abc")
    with started(b, "tcpdump", "-n", "-l", "-c", "1", "-i", "vb", "udp",
                 ready="listening on") as dump, \
            started(b, "socat", "-d", "-d", "-u", "INTERFACE:vb", "-",
                    ready="starting data transfer loop") as peer:
        sent = a.exec(*SOCKLAB, "connect", "packet:va", "-v", input=frame.hex() + "\n",
                      check=False)
        assert sent.returncode == 0, sent.stderr
        assert read_exactly(peer, len(frame)) == frame
        assert dump.stdout is not None
        seen = dump.stdout.readline().decode()
    # tcpdump's line, its timestamp left out, is what -v printed for the frame sent
    assert sent.stderr.splitlines()[0] == "socklab: sent: " + seen.split(" ", 1)[1].strip()
    assert seen.split(" ", 1)[1].strip() == "IP 10.9.0.1.5000 > 10.9.0.2.7: UDP, length 3"


def test_packet_listen_prints_socat_frame_as_hex(wire):
    need_tool("socat")
    a, b = wire
    frame = mac(MAC_B) + mac(MAC_A) + b"\x88\xb5" + b"socklab"
    proc = socklab_listen(b, "listen", "packet:vb", "--max-clients", "1", "-v")
    wait_listening(proc)
    sender = a.popen("socat", "-u", "-", "INTERFACE:va", stdin=subprocess.PIPE)
    sender.communicate(frame, timeout=30)
    assert sender.returncode == 0
    code, out, err = finish(proc)
    assert code == 0, err
    assert out == frame.hex().encode() + b"\n"
    assert err.splitlines() == [f"socklab: ethertype Unknown (0x88b5), length {len(frame)}"]


def test_packet_frame_over_the_mtu_is_one_line_exit_2(wire):
    a, _ = wire
    too_big = bytes(1500 + 14 + 1)
    proc = a.exec(*SOCKLAB, "connect", "packet:va", input=too_big.hex() + "\n", check=False)
    assert proc.returncode == 2
    assert proc.stderr == ("socklab: error: packet:va input line 1: a frame of 1515 bytes: "
                           "va's MTU is 1500 (at most 1514 bytes with the 14-byte link "
                           "header)\n")
    for bad in ("zz\n", "0102\n", "ab" * 200_000):
        proc = a.exec(*SOCKLAB, "connect", "packet:va", input=bad, check=False)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("socklab: error: ") and "Traceback" not in proc.stderr


def test_unknown_device_and_protocol(netns):
    proc = netns.exec(*SOCKLAB, "listen", "packet:nosuch0", check=False)
    assert proc.returncode == 2 and "no interface 'nosuch0'" in proc.stderr
    proc = netns.exec(*SOCKLAB, "connect", "ip4:127.0.0.1:nosuchproto", check=False)
    assert proc.returncode == 2 and "unknown protocol 'nosuchproto'" in proc.stderr


@pytest.mark.parametrize(("command", "endpoint"), [
    ("connect", f"ip4:127.0.0.1:{PROTO}"), ("listen", f"ip6::{PROTO}"),
    ("listen", "packet:lo"), ("connect", "packet:lo"),
])
def test_without_cap_net_raw_exit_77_naming_it(netns, command, endpoint):
    need_tool("setpriv")
    proc = netns.exec(*NOBODY, *SOCKLAB, command, endpoint, input="", check=False)
    assert proc.returncode == 77, proc.stderr
    assert proc.stderr.startswith("socklab: error: ") and proc.stderr.count("\n") == 1
    assert "CAP_NET_RAW" in proc.stderr
