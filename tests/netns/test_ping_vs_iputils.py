"""socklab ping against iputils ping on the same targets, in namespaces: both outputs
parsed by one parser (iputils' layout, ping.c and ping_common.c), compared field by
field, never on timings; errors of routers, of this host, and no route at all."""

from __future__ import annotations

import re

import pytest
from helpers import SOCKLAB, need_tool, veth_link

from socklab.probe import ping

pytestmark = pytest.mark.privileged

HEADER = re.compile(r"^PING (\S+) ?\((\S+)\) (\d+)(?:\((\d+)\) bytes of data\.| data bytes)$")
REPLY = re.compile(r"^(\d+) bytes from (.+?): icmp_seq=(\d+) ttl=(\d+) time=[\d.]+ ms"
                   r"( \(DUP!\))?$")
ERROR = re.compile(r"^From (.+?) icmp_seq=(\d+) (.+)$")
COUNTS = re.compile(r"^(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?"
                    r"(?:, \+(\d+) errors)?, ([\d.]+)% packet loss, time \d+ms$")
RTT = re.compile(r"^rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms"
                 r"(, pipe \d+)?(, ipg/ewma [\d.]+/[\d.]+ ms)?$")


def parse_ping(text: str) -> dict:
    """iputils ping's output: the header's fields, replies and errors (no times), the
    statistics' counts, and the shape of the text (which kind of line, in order)."""
    out: dict = {"replies": [], "errors": [], "shape": []}
    for line in text.splitlines():
        if m := HEADER.match(line):
            out["header"] = m.groups()
            out["shape"].append("header")
        elif m := REPLY.match(line):
            out["replies"].append(m.groups())
            out["shape"].append("reply")
        elif m := ERROR.match(line):
            out["errors"].append(m.groups())
            out["shape"].append("error")
        elif m := COUNTS.match(line):
            out["counts"] = m.groups()
            out["shape"].append("counts")
        elif m := RTT.match(line):
            out["shape"].append("rtt" + (" ipg/ewma" if m.group(2) else ""))
        elif line.startswith("--- ") and line.endswith(" ping statistics ---"):
            out["shape"].append("statistics")
        elif line == "":
            out["shape"].append("blank")
        else:
            raise AssertionError(f"a line iputils does not print: {line!r}")
    # several replies or errors in a row: one kind of line
    out["shape"] = [k for i, k in enumerate(out["shape"])
                    if i == 0 or k not in ("reply", "error") or out["shape"][i - 1] != k]
    return out


def both(ns, *args, real_args=None):
    need_tool("ping")
    ours = ns.exec(*SOCKLAB, "ping", *args, check=False)
    real = ns.exec("ping", *(real_args or args), check=False)
    return ours, real


def same(ns, *args, real_args=None):
    ours, real = both(ns, *args, real_args=real_args)
    assert ours.returncode == real.returncode, (ours, real)
    a, b = parse_ping(ours.stdout), parse_ping(real.stdout)
    return a, b


@pytest.mark.parametrize("args", [["-c", "2", "-i", "0.2", "localhost"],
                                  ["-c", "2", "-i", "0.2", "127.0.0.1"],
                                  ["-6", "-c", "2", "-i", "0.2", "::1"],
                                  ["-c", "1", "-q", "127.0.0.1"],
                                  ["-c", "2", "-i", "0.2", "-s", "100", "-t", "9", "127.0.0.1"]])
def test_replies_read_as_iputils_prints_them(netns, args):
    ours, real = same(netns, *args)
    assert ours == real
    assert ours["shape"][:1] == ["header"] and "rtt" in ours["shape"]


def test_a_name_shows_the_name_and_the_address(netns):
    ours, _real = same(netns, "-c", "1", "localhost")
    assert ours["header"] == ("localhost", "127.0.0.1", "56", "84")
    assert ours["replies"] == [("64", "localhost (127.0.0.1)", "1", "64", None)]


def test_ipv6_header_states_the_data_bytes_only(netns):
    proc = netns.exec(*SOCKLAB, "ping", "-c", "1", "::1", check=False)
    assert proc.stdout.splitlines()[0] == "PING ::1 (::1) 56 data bytes"


def test_silence_has_the_blank_lines_of_iputils(netns):
    netns.exec("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    ours, real = same(netns, "-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1")
    assert ours == real
    assert ours["shape"] == ["header", "blank", "statistics", "counts", "blank"]
    assert ours["counts"][:2] == ("2", "0")


def test_with_a_deadline_count_is_replies_not_requests(netns):
    """-c 2 -w 1 and no reply: iputils sends every interval until the deadline."""
    netns.exec("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    ours, real = same(netns, "-c", "2", "-i", "0.3", "-w", "1", "127.0.0.1")
    assert int(ours["counts"][0]) > 2 and int(real["counts"][0]) > 2
    assert abs(int(ours["counts"][0]) - int(real["counts"][0])) <= 1  # (0.3 s steps)
    assert ours["shape"] == real["shape"]


def test_with_a_deadline_the_ping_ends_after_count_replies(netns):
    result = netns.run(ping.ping, "127.0.0.1", 2, interval=0.2, deadline=30)
    assert (result.transmitted, result.received) == (2, 2)
    netns.exec("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    silent = netns.run(ping.ping, "127.0.0.1", 2, interval=0.2, deadline=1)
    assert silent.transmitted > 2 and silent.received == 0


@pytest.fixture
def lab(netns_factory):
    """client -- router; the router's routes to fd00:50::/32 'unreachable', to
    fd00:51::/32 'prohibit', to 10.50/16 'unreachable'; the client's routes to 10.61/16
    and 10.62/16 go through neighbours that never answer (one ARP probe, 50 ms)."""
    client, router = netns_factory(), netns_factory()
    veth_link(client, "c0", router, "r0", "10.9.1.2/24", "10.9.1.1/24")
    client.ip("-6", "addr", "add", "fd00:9:1::2/64", "dev", "c0", "nodad")
    router.ip("-6", "addr", "add", "fd00:9:1::1/64", "dev", "r0", "nodad")
    client.ip("route", "add", "default", "via", "10.9.1.1")
    client.ip("-6", "route", "add", "default", "via", "fd00:9:1::1")
    router.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
    router.ip("-6", "route", "add", "unreachable", "fd00:50::/32")
    router.ip("-6", "route", "add", "prohibit", "fd00:51::/32")
    router.ip("route", "add", "unreachable", "10.50.0.0/16")
    client.exec("sysctl", "-qw", "net.ipv4.neigh.c0.mcast_solicit=1",
                "net.ipv4.neigh.c0.ucast_solicit=0", "net.ipv4.neigh.c0.app_solicit=0",
                "net.ipv4.neigh.c0.retrans_time_ms=50")
    client.ip("route", "add", "10.61.0.0/16", "via", "10.9.1.8")
    client.ip("route", "add", "10.62.0.0/16", "via", "10.9.1.7")
    return client


@pytest.mark.parametrize(("target", "text"), [
    ("fd00:50::1", "Destination unreachable: No route"),
    ("fd00:51::1", "Destination unreachable: Administratively prohibited")])
def test_a_router_that_says_unreachable_is_shown_per_echo(lab, target, text):
    ours, real = same(lab, "-c", "3", "-i", "0.2", target)
    assert ours["errors"] == real["errors"] == [("fd00:9:1::1", str(n), text)
                                                for n in (1, 2, 3)]
    assert ours["counts"] == real["counts"] == ("3", "0", None, "3", "100")
    assert ours["shape"] == real["shape"]


def test_an_ipv4_router_says_host_unreachable(lab):
    """One echo each: the router's IPv4 'unreachable' answers are rate-limited
    (net.ipv4.route.error_cost, not per namespace)."""
    ours, real = same(lab, "-c", "1", "10.50.0.1")
    assert ours["errors"] == real["errors"] == [("10.9.1.1", "1",
                                                 "Destination Host Unreachable")]


def test_a_neighbour_that_never_answers_is_our_own_host_unreachable(lab):
    ours, real = same(lab, "-c", "2", "-i", "0.2", "10.62.0.1", real_args=[
        "-c", "2", "-i", "0.2", "10.61.0.1"])
    assert ours["errors"] == real["errors"] == [("10.9.1.2", "1", "Destination Host "
                                                 "Unreachable"),
                                                ("10.9.1.2", "2", "Destination Host "
                                                 "Unreachable")]
    assert ours["counts"] == real["counts"]


@pytest.mark.parametrize(("route", "reason"), [(None, "Network is unreachable"),
                                               ("unreachable", "No route to host")])
def test_no_route_is_connect_error_and_exit_2_as_iputils(netns, route, reason):
    if route:
        netns.ip("route", "add", route, "10.50.0.0/16")
    ours, real = both(netns, "-c", "1", "10.50.0.1")
    assert real.returncode == ours.returncode == 2
    assert real.stderr == f"ping: connect: {reason}\n"
    assert ours.stderr == f"socklab: error: ping: connect: {reason}\n"
    assert ours.stdout == ""


def test_a_send_refused_here_is_sendmsg_on_stderr(netns):
    """The output chain drops the echoes: each send fails with EPERM; counted as
    transmitted, not as errors (those are the routers'), and said on stderr."""
    need_tool("nft")
    netns.exec("nft", "add table inet t")
    netns.exec("nft", "add chain inet t out { type filter hook output priority 0 ; }")
    netns.exec("nft", "add rule inet t out icmp type echo-request drop")
    proc = netns.exec(*SOCKLAB, "ping", "-c", "2", "-i", "0.2", "-W", "0.5", "127.0.0.1",
                      check=False)
    assert proc.returncode == 1
    assert proc.stderr == "ping: sendmsg: Operation not permitted\n" * 2
    assert parse_ping(proc.stdout)["counts"] == ("2", "0", None, None, "100")


def test_receive_times_are_the_kernels(netns):
    """A reply read 0.2 s after it came still has the round trip of the kernel's
    receive time (SO_TIMESTAMPNS), far below 0.2 s; a time taken at the read could
    never be. The kernel turns receive stamps on in a deferred work
    (net_enable_timestamp) and stamps a packet that came before it at the read:
    up to five tries, each on a socket that has had its option for a while."""
    import time

    def late() -> list[float | None]:
        pinger = ping._open("127.0.0.1", ping.PingOptions(5, interval=1))
        replies = pinger.session.replies
        rtts = []
        try:
            for _ in range(5):
                time.sleep(0.2)
                pinger.send_one()
                time.sleep(0.2)
                pinger.readable()
                rtts.append(replies[-1].rtt_ms if replies else None)
                if rtts[-1] is not None and rtts[-1] < 100:
                    break
            return rtts
        finally:
            pinger.sock.close()

    rtts = netns.run(late)
    assert all(r is not None for r in rtts), rtts  # every echo answered, and read
    assert 0 <= min(rtts) < 100, rtts


def test_a_flood_prints_as_ping_f(netns):
    """ping -f: a dot per request, a backspace per reply, then the statistics on the
    next line; with -q, none of that."""
    ours, real = same(netns, "-f", "-q", "-c", "200", "127.0.0.1")
    assert ours["shape"] == real["shape"] == ["header", "blank", "statistics", "counts",
                                              "rtt ipg/ewma"]
    assert ours["counts"] == real["counts"] == ("200", "200", None, None, "0")
    for proc in both(netns, "-f", "-c", "50", "127.0.0.1"):
        head, rest = proc.stdout.split("\n", 1)
        dots, stats = rest.split("\n--- ", 1)
        assert HEADER.match(head) and stats.startswith("127.0.0.1 ping statistics ---\n")
        assert (dots.count("."), dots.count("\b \b"), set(dots)) == (50, 50, {".", "\b", " "})


@pytest.fixture
def deaf_lo(netns):
    """A namespace whose loopback drops every ICMP echo request coming in (an nft
    input rule on lo, IPv4 and IPv6): the echoes leave, nothing answers."""
    need_tool("nft")
    netns.exec("nft", "add table inet deaf")
    netns.exec("nft", "add chain inet deaf in { type filter hook input priority 0 ; }")
    netns.exec("nft", "add rule inet deaf in iifname lo icmp type echo-request drop")
    netns.exec("nft", "add rule inet deaf in iifname lo icmpv6 type echo-request drop")
    return netns


@pytest.mark.parametrize("args", [["-c", "2", "-i", "0.2", "-W", "0.5", "127.0.0.1"],
                                  ["-6", "-c", "2", "-i", "0.2", "-W", "0.5", "::1"],
                                  ["-c", "1", "-q", "-W", "0.5", "localhost"]])
def test_a_loopback_that_drops_echoes_reads_as_iputils(deaf_lo, args):
    """Every echo sent, none answered: exit 1 for both, the same lines and counts
    (``N packets transmitted, 0 received, 100% packet loss``), no rtt line."""
    ours, real = both(deaf_lo, *args)
    assert ours.returncode == real.returncode == 1, (ours, real)
    assert ours.stderr == real.stderr == ""
    a, b = parse_ping(ours.stdout), parse_ping(real.stdout)
    assert a == b
    n = args[args.index("-c") + 1]
    assert a["counts"] == (n, "0", None, None, "100")
    assert a["replies"] == a["errors"] == []
    assert a["shape"] == ["header", "blank", "statistics", "counts", "blank"]


@pytest.mark.parametrize("args", [["-w", "1", "-i", "0.3"], ["-c", "2", "-w", "1", "-i", "0.3"],
                                  ["-6", "-w", "1", "-i", "0.3"]])
def test_a_deadline_on_a_loopback_that_drops_echoes(deaf_lo, args):
    """-w: iputils keeps sending each interval until the deadline and exits 1 (-c
    counts replies then, and none come); socklab as well: the same shape, exit code,
    and transmitted counts at most one echo apart (the last may fall on the deadline)."""
    target = "::1" if "-6" in args else "127.0.0.1"
    ours, real = both(deaf_lo, *args, target)
    assert ours.returncode == real.returncode == 1, (ours, real)
    a, b = parse_ping(ours.stdout), parse_ping(real.stdout)
    assert a["shape"] == b["shape"]
    assert a["header"] == b["header"]
    assert (a["counts"][1:], b["counts"][1:]) == (("0", None, None, "100"),) * 2
    assert int(a["counts"][0]) >= 3 and int(b["counts"][0]) >= 3
    assert abs(int(a["counts"][0]) - int(b["counts"][0])) <= 1


def test_a_loopback_that_drops_echoes_only_for_ipv4(deaf_lo):
    """A rule for IPv4 echoes alone: 127.0.0.1 is silent, ::1 answers, and both tools
    read the replies the same way (exit 0)."""
    deaf_lo.exec("nft", "flush chain inet deaf in")
    deaf_lo.exec("nft", "add rule inet deaf in iifname lo icmp type echo-request drop")
    lost, _ = same(deaf_lo, "-c", "1", "-W", "0.5", "127.0.0.1")
    assert lost["counts"][:2] == ("1", "0")
    answered, real = same(deaf_lo, "-6", "-c", "2", "-i", "0.2", "::1")
    assert answered == real
    assert answered["counts"][:2] == ("2", "2")


def test_a_loopback_that_drops_every_other_echo(deaf_lo):
    """Half the echoes dropped (nft numgen): 4 sent, 2 answered, 50% loss; exit 0
    without a deadline (some reply came), exit 1 with -w when fewer than -c replies
    came by the deadline (iputils: ``!nreceived || (deadline && nreceived < npackets)``)."""
    deaf_lo.exec("nft", "flush chain inet deaf in")
    deaf_lo.exec("nft", "add rule inet deaf in iifname lo icmp type echo-request "
                 "numgen inc mod 2 == 1 drop")
    procs = both(deaf_lo, "-c", "4", "-i", "0.2", "-W", "0.5", "127.0.0.1")
    assert [p.returncode for p in procs] == [0, 0], procs
    ours, real = (parse_ping(p.stdout) for p in procs)
    assert ours["counts"] == real["counts"] == ("4", "2", None, None, "50")
    assert ours["shape"] == real["shape"]
    assert len(ours["replies"]) == len(real["replies"]) == 2
    a, b = both(deaf_lo, "-c", "4", "-i", "0.2", "-w", "1", "127.0.0.1")
    assert a.returncode == b.returncode == 1, (a, b)
    for proc in (a, b):
        counts = parse_ping(proc.stdout)["counts"]
        assert int(counts[0]) >= 4 and 0 < int(counts[1]) < 4, proc.stdout
