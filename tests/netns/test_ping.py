"""ping in namespaces: the unprivileged and raw paths, loss, concurrency, privilege errors."""

from __future__ import annotations

import json
import threading

import pytest
from helpers import SOCKLAB, need_tool, veth_link

from socklab.probe import ping

pytestmark = pytest.mark.privileged

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def socklab_in(ns, *args, user=None):
    return ns.exec(*(user or []), *SOCKLAB, *args, check=False)


def test_unprivileged_datagram_socket_when_the_group_is_admitted(netns):
    need_tool("setpriv")
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=65534 65534")
    proc = socklab_in(netns, "--json", "ping", "-c", "2", "-i", "0.2", "127.0.0.1",
                      user=NOBODY)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["socket_type"] == "dgram" and result["received"] == 2
    assert all(r["ttl"] == 64 for r in result["replies"])


def test_raw_socket_for_root_when_the_group_is_not_admitted(netns):
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=1 0")
    result = netns.run(ping.ping, "127.0.0.1", 3, interval=0.05)
    assert result.socket_type == "raw" and result.received == 3 and result.loss_percent == 0
    assert result.rtt_min <= result.rtt_avg <= result.rtt_max


def test_no_way_to_ping_is_exit_77_with_both_ways_out(netns):
    need_tool("setpriv")
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=1 0")
    proc = socklab_in(netns, "ping", "-c", "1", "127.0.0.1", user=NOBODY)
    assert proc.returncode == 77
    assert "CAP_NET_RAW" in proc.stderr and "ping_group_range" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_short_interval_and_flood_need_privilege(netns):
    need_tool("setpriv")
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=65534 65534")
    for flags in (["-i", "0.01"], ["-f"]):
        proc = socklab_in(netns, "ping", "-c", "2", *flags, "127.0.0.1", user=NOBODY)
        assert proc.returncode == 77, proc.stderr
        assert "0.2 s" in proc.stderr


def test_loss_is_counted_when_echo_is_ignored(netns):
    netns.exec("sysctl", "-w", "net.ipv4.icmp_echo_ignore_all=1")
    proc = socklab_in(netns, "ping", "-c", "3", "-i", "0.1", "-W", "0.5", "127.0.0.1")
    assert proc.returncode == 1
    assert "3 packets transmitted, 0 received, 100% packet loss" in proc.stdout


def two_pings_at_once(netns, count, interval):
    """Two pings of 127.0.0.1 at the same time in the namespace; each must get
    exactly its own replies."""
    results = []

    def run():
        results.append(netns.run(ping.ping, "127.0.0.1", count, interval=interval))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    for r in results:
        assert r.socket_type == "raw"
        assert (r.transmitted, r.received, r.duplicates, r.errors) == (count, count, 0, 0)
        assert sorted(x.seq for x in r.replies) == list(range(1, count + 1))


def test_two_concurrent_pings_keep_their_own_replies(netns):
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=1 0")  # both raw: they see all
    two_pings_at_once(netns, 20, 0.01)


def test_ttl_exceeded_from_a_router(netns_factory):
    """client -- router -- server: with TTL 1 the router answers 'Time to live exceeded'."""
    client, router, server = netns_factory(), netns_factory(), netns_factory()
    veth_link(client, "c0", router, "r0", "10.9.1.2/24", "10.9.1.1/24")
    veth_link(router, "r1", server, "s0", "10.9.2.1/24", "10.9.2.2/24")
    router.exec("sysctl", "-w", "net.ipv4.ip_forward=1")
    client.ip("route", "add", "default", "via", "10.9.1.1")
    server.ip("route", "add", "default", "via", "10.9.2.1")
    ok = client.run(ping.ping, "10.9.2.2", 2, interval=0.1)
    assert ok.received == 2
    hop = client.run(ping.ping, "10.9.2.2", 2, interval=0.1, ttl=1, timeout=1)
    assert hop.received == 0 and hop.errors == 2
    assert {(r.source, r.error) for r in hop.replies} == {("10.9.1.1", "Time to live exceeded")}



def test_async_pings_run_side_by_side_on_one_event_loop(netns):
    import asyncio

    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647")

    async def both():
        return await asyncio.gather(ping.ping_async("127.0.0.1", 5, interval=0.2),
                                    ping.ping_async("::1", 5, interval=0.2))

    v4, v6 = netns.run(asyncio.run, both())
    assert (v4.received, v6.received) == (5, 5)
    assert v4.socket_type == v6.socket_type == "dgram"
    assert sorted(r.seq for r in v4.replies) == sorted(r.seq for r in v6.replies) == [1, 2, 3,
                                                                                      4, 5]


@pytest.mark.parametrize("v6", [False, True])
def test_a_raw_ping_socket_sees_replies_but_not_our_own_requests(netns, v6):
    """On loopback a raw ICMP socket would receive every request it sends; the
    kernel filter (ICMP_FILTER / ICMP6_FILTER) must leave only the replies."""
    import select

    def run() -> list[int]:
        pinger = ping._open("::1" if v6 else "127.0.0.1", ping.PingOptions(3, interval=0))
        assert pinger.session.kind == "raw"
        for _ in range(3):
            pinger.send_one()
        types, sock = [], pinger.sock
        while select.select([sock], [], [], 0.5)[0] and len(types) < 10:
            data = sock.recv(4096)
            types.append(data[0] if v6 else data[(data[0] & 0xF) * 4])
        sock.close()
        return types

    types = netns.run(run)
    assert types == [129 if v6 else 0] * 3  # echo replies only, no echo request (128 / 8)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_flood_sends_each_echo_once_and_counts_each_reply(netns, host):
    """Interval 0: sender threads with sendmmsg, the replies read here. Every
    sequence number goes out once and comes back once; the thread's CPU
    affinity is left as it was."""
    import os

    def flood():
        before = os.sched_getaffinity(0)
        sent: list[int] = []
        result = ping.ping(host, 3000, interval=0, on_send=sent.append)
        return result, sent, before, os.sched_getaffinity(0)

    result, sent, before, after = netns.run(flood)
    assert (result.transmitted, result.received, result.duplicates, result.errors) == \
        (3000, 3000, 0, 0)
    assert sorted(sent) == list(range(1, 3001))  # two sender threads: each once
    assert sorted(r.seq for r in result.replies) == list(range(1, 3001))
    assert all(r.rtt_ms is not None and r.rtt_ms >= 0 for r in result.replies)
    assert after == before


def test_two_concurrent_floods_keep_their_own_replies(netns):
    """Each raw socket would get the other flood's replies too: the kernel drops
    them (icmp.echo_reply_filter, as iputils does) and a window of our own fits
    the receive buffer. Without the filter, ~100 of 2,000 replies were lost."""
    two_pings_at_once(netns, 2000, 0)


@pytest.mark.parametrize("v6", [False, True])
def test_the_echo_reply_filter_keeps_ours_and_drops_other_pings_replies(netns, v6):
    """icmp.echo_reply_filter attached with kernel.bpf: of two echo replies on
    loopback, the raw socket receives the one with its identifier only."""
    import socket

    from socklab.kernel.bpf import attach_filter
    from socklab.probe import icmp

    def probe():
        family, proto = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else \
            (socket.AF_INET, socket.IPPROTO_ICMP)
        dest = ("::1", 0) if v6 else ("127.0.0.1", 0)
        rx = socket.socket(family, socket.SOCK_RAW, proto)
        tx = socket.socket(family, socket.SOCK_RAW, proto)
        try:
            attach_filter(rx, icmp.echo_reply_filter(0x1234, v6))
            rx.settimeout(0.3)
            for ident in (0x4321, 0x1234):
                tx.sendto(icmp.build_echo(ident, 7, b"x", v6), dest)
            seen = []
            while True:
                try:
                    msg = icmp.parse(rx.recv(2048), v6, ip_header=not v6)
                except TimeoutError:
                    return seen
                seen.append((msg.type, msg.ident))
        finally:
            rx.close()
            tx.close()

    seen = netns.run(probe)
    reply = icmp.ECHO6_REPLY if v6 else icmp.ECHO_REPLY
    assert (reply, 0x1234) in seen and (reply, 0x4321) not in seen


def test_flood_into_silence_counts_the_loss(netns):
    netns.exec("sysctl", "-w", "net.ipv4.icmp_echo_ignore_all=1")
    result = netns.run(ping.ping, "127.0.0.1", 200, interval=0, timeout=0.5)
    assert (result.transmitted, result.received) == (200, 0)  # 128, then 100 a second
    assert result.loss_percent == 100.0


def test_ctrl_c_prints_the_statistics_and_exits_0_as_iputils(netns):
    """Without -c, ping runs until Ctrl-C; then come the statistics and the exit
    status of the replies (0), not the generic 130 of an interrupted command."""
    import signal
    import subprocess

    proc = netns.popen(*SOCKLAB, "ping", "-i", "0.2", "127.0.0.1", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # PING ..., two replies
        assert "bytes from 127.0.0.1" in lines[2], lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "--- 127.0.0.1 ping statistics ---" in out and "packets transmitted" in out


@pytest.mark.parametrize("dgram", [False, True])
def test_a_failed_read_is_a_local_reply_unless_an_icmp_error_reports_it(netns, dgram):
    """A read that raises the socket's pending error: one the kernel derived from a
    router's ICMP error is reported by that error (the ICMP message a raw socket
    reads next, the error queue of a datagram socket); any other is recorded as a
    local reply with sequence number 0 (iputils' "ping: recvmsg: REASON")."""
    import errno

    if dgram:
        netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647")

    def run():
        pinger = ping._open("127.0.0.1", ping.PingOptions(1, interval=0.2))
        try:
            icmp_made = pinger._receive_error(OSError(errno.EHOSTUNREACH, "unreachable"))
            other = pinger._receive_error(OSError(errno.ENOBUFS, "no buffer"))
            return pinger.session.kind, icmp_made, other, pinger.session.result()
        finally:
            pinger.sock.close()

    kind, icmp_made, other, result = netns.run(run)
    assert kind == ("dgram" if dgram else "raw")
    # raw: the ICMP message comes next; dgram: the error queue is empty here, so
    # the error is recorded as it is
    assert [(r.seq, r.local) for r in icmp_made] == ([(0, True)] if dgram else [])
    assert [(r.seq, r.local, r.error) for r in other] == \
        [(0, True, "No buffer space available")]
    assert result.replies == (*icmp_made, *other) and result.errors == 0
