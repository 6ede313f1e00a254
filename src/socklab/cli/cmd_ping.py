"""Send ICMP echo requests and report the replies, as iputils ping does.

The socket is an unprivileged ICMP datagram socket when net.ipv4.ping_group_range
admits your group, else a raw socket (CAP_NET_RAW); --trace shows which.
Exit status as iputils: 0 some reply, 1 no reply (or fewer than -c by the
deadline -w), 2 bad input or no route from this host (connect: Network is
unreachable), 77 a missing privilege. With -w, -c counts replies: requests go
on every interval until the deadline.

examples:
  socklab ping -c 3 127.0.0.1
  socklab ping -6 -c 2 ::1
  socklab ping -c 5 -i 0.2 -s 1000 -t 1 192.0.2.1
  socklab ping -w 5 -q localhost
  socklab --json ping -c 3 127.0.0.1

classic: ping, ping -c COUNT -i INTERVAL -s SIZE -t TTL -W TIMEOUT -w DEADLINE
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from socklab.cli import options

if TYPE_CHECKING:
    from socklab.probe import ping


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("host", metavar="HOST")
    p.add_argument("-4", dest="ipv6", action="store_const", const=False, help="IPv4")
    p.add_argument("-6", dest="ipv6", action="store_const", const=True, help="IPv6")
    p.add_argument("-c", "--count", type=options.integer(1, 2**63 - 1, "count"), metavar="COUNT",
                   help="stop after COUNT replies (with -w) or requests")
    p.add_argument("-i", "--interval", type=options.seconds(low_included=True), default=1.0,
                   metavar="SECONDS",
                   help="between requests (below 0.2 s: CAP_NET_RAW)")
    p.add_argument("-s", "--size", type=options.integer(0, 65507, "size"), default=56,
                   metavar="BYTES", help="payload size")
    p.add_argument("-t", "--ttl", type=options.integer(1, 255, "ttl"), metavar="TTL",
                   help="IP time to live")
    p.add_argument("-W", "--timeout", type=options.seconds(), default=10.0, metavar="SECONDS",
                   help="wait this long for the last reply")
    p.add_argument("-w", "--deadline", type=options.seconds(high=2147483647), metavar="SECONDS",
                   help="stop after this")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.add_argument("-f", "--flood", action="store_true",
                   help="as fast as replies come (interval 0; CAP_NET_RAW)")
    p.add_argument("-I", "--interface", metavar="DEV|ADDR", help="source interface or address")


def _ms(rtt: float) -> str:
    """A round-trip time as iputils prints it on a reply line (ping_common.c): three
    decimals below 1 ms, two below 10, one below 100, none above; the bounds are
    where the shorter form would round up (9.995 ms is "10.0")."""
    if rtt >= 99.95:
        return f"{rtt:.0f}"
    if rtt >= 9.995:
        return f"{rtt:.1f}"
    if rtt >= 1:
        return f"{rtt:.2f}"
    return f"{rtt:.3f}"


def header(host: str, address: str, size: int) -> str:
    """iputils' first line: ``56(84) bytes of data`` counts the IPv4 and ICMP headers,
    IPv6 states the data only."""
    if ":" in address:
        return f"PING {host} ({address}) {size} data bytes"
    return f"PING {host} ({address}) {size}({size + 28}) bytes of data."


def statistics(host: str, result: ping.PingResult, flood: bool = False) -> str:
    """The summary after the replies, as iputils prints it (finish()): a blank line,
    the counts, the round-trip times when a reply came, and an empty line when not;
    at interval 0, the gap between requests and the moving average of the times."""
    extra = (f", +{result.duplicates} duplicates" if result.duplicates else "") + (
        f", +{result.errors} errors" if result.errors else "")
    text = (f"\n--- {host} ping statistics ---\n"
            f"{result.transmitted} packets transmitted, {result.received} received{extra}, "
            f"{result.loss_percent:g}% packet loss, time {result.time_ms}ms\n")
    if result.rtt_min is not None:
        text += (f"rtt min/avg/max/mdev = {result.rtt_min:.3f}/{result.rtt_avg:.3f}/"
                 f"{result.rtt_max:.3f}/{result.rtt_mdev:.3f} ms")
        if flood and result.ipg_ms is not None and result.ewma_ms is not None:
            text += f", ipg/ewma {result.ipg_ms:.3f}/{result.ewma_ms:.3f} ms"
    return text


def local_line(reply: ping.PingReply) -> str:
    """A call this host's kernel refused, as iputils says it on stderr: a send
    (``ping: sendmsg: REASON``), or, with sequence number 0, a receive."""
    call = "recvmsg" if reply.seq == 0 else "sendmsg"
    return f"ping: {call}: {reply.error}"


class _Names:
    """Reply sources as iputils shows them when the host was given by name: the
    reverse lookup then the address, ``localhost (127.0.0.1)``; one lookup per
    address. A host given as an address: addresses only, no lookup."""

    def __init__(self, host: str) -> None:
        import socket

        self.lookup = True
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                socket.inet_pton(family, host.split("%", 1)[0])
                self.lookup = False
            except (OSError, ValueError):  # not an address (or not text: ping says why)
                continue
        self.cache: dict[str, str] = {}

    def __call__(self, address: str) -> str:
        if not self.lookup or address == "?":
            return address
        shown = self.cache.get(address)
        if shown is None:
            import socket

            try:
                name = socket.getnameinfo((address, 0), 0)[0]
            except OSError:
                name = address
            shown = self.cache[address] = f"{name} ({address})" if name != address \
                else address
        return shown


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.probe import ping

    # argparse's values, typed here once (the types its converters return)
    host: str = args.host
    count: int | None = args.count
    deadline: float | None = args.deadline
    size: int = args.size
    flood: bool = args.flood
    interval: float = 0.0 if flood else args.interval
    ttl: int | None = args.ttl
    timeout: float = args.timeout
    source: str | None = args.interface
    ipv6: bool | None = args.ipv6
    text = not args.json
    dots = flood and not (args.quiet or args.json)  # ping -f: . sent, backspace back
    show = not (args.quiet or args.json)
    names = _Names(host)

    def on_reply(r: ping.PingReply) -> None:
        if r.local:  # a call failed here: iputils' "ping: sendmsg: ...", E in a flood
            if dots:
                sys.stdout.write("E")
                sys.stdout.flush()
            elif show:
                sys.stdout.flush()
                print(local_line(r), file=sys.stderr, flush=True)
            return
        if dots:
            sys.stdout.write("\b \b")
            sys.stdout.flush()
            return
        if not show:
            return
        if r.error:
            print(f"From {names(r.source)} icmp_seq={r.seq} {r.error}", flush=True)
        else:
            ttl = f" ttl={r.ttl}" if r.ttl is not None else ""
            rtt = f" time={_ms(r.rtt_ms)} ms" if r.rtt_ms is not None else ""
            print(f"{r.bytes} bytes from {names(r.source)}: icmp_seq={r.seq}{ttl}{rtt}"
                  + (" (DUP!)" if r.duplicate else ""), flush=True)

    def on_start(address: str) -> None:
        print(header(host, address, size), flush=True)

    def on_send(_seq: int) -> None:
        sys.stdout.write(".")
        sys.stdout.flush()

    if count is None and deadline is None:
        count = 2**31  # like ping: until interrupted
    # no callback where it would do nothing: at -i 0 each is a call per echo
    # (and the senders' one runs under the GIL the reader needs)
    result = ping.ping(host, count, interval=interval, size=size, ttl=ttl,
                       timeout=timeout, deadline=deadline, source=source,
                       ipv6=ipv6, on_reply=on_reply if show or dots else None,
                       on_send=on_send if dots else None,
                       on_start=on_start if text else None,
                       until_interrupted=True)  # Ctrl-C: the statistics, as iputils
    if args.json:
        render.write_json(result)
    else:
        print(statistics(host, result, interval == 0))  # after a flood's dots too
        if args.debug:
            print(f"(socket: {result.socket_type}: {result.why})")
    # iputils: 1 when no reply came, or fewer than -c by the deadline -w
    wanted: int | None = args.count  # count is 2**31 when not given
    short = deadline is not None and wanted is not None and result.received < wanted
    return 1 if not result.received or short else 0
