"""Send ICMP echo requests and report the replies, as iputils ping does.

The socket is an unprivileged ICMP datagram socket when net.ipv4.ping_group_range
admits your group, else a raw socket (CAP_NET_RAW); --trace shows which.
Exit status as iputils: 0 some reply, 1 no reply, 2 bad input or error,
77 a missing privilege.

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

from socklab.cli import options


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


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.probe import ping

    count, deadline = args.count, args.deadline
    interval = 0.0 if args.flood else args.interval
    show = not (args.quiet or args.json)

    def on_reply(r: ping.PingReply) -> None:
        if args.flood and not args.json:
            sys.stdout.write("\b \b")
            sys.stdout.flush()
            return
        if not show:
            return
        if r.error:
            print(f"From {r.source} icmp_seq={r.seq} {r.error}")
        else:
            ttl = f" ttl={r.ttl}" if r.ttl is not None else ""
            rtt = f" time={r.rtt_ms:.3f} ms" if r.rtt_ms is not None else ""
            print(f"{r.bytes} bytes from {r.source}: icmp_seq={r.seq}{ttl}{rtt}"
                  + (" (DUP!)" if r.duplicate else ""), flush=True)

    def on_send(seq: int) -> None:
        if seq == 1 and not args.json:  # after the checks: errors come alone
            print(f"PING {args.host} {args.size}({args.size + 28}) bytes of data.", flush=True)
        if args.flood and not args.json:
            sys.stdout.write(".")
            sys.stdout.flush()

    if count is None and deadline is None:
        count = 2**31  # like ping: until interrupted
    # no callback where it would do nothing: at -i 0 each is a call per echo
    # (and the senders' one runs under the GIL the reader needs)
    result = ping.ping(args.host, count, interval=interval, size=args.size, ttl=args.ttl,
                       timeout=args.timeout, deadline=deadline, source=args.interface,
                       ipv6=args.ipv6, on_reply=on_reply if show or
                       (args.flood and not args.json) else None,
                       on_send=None if args.json else on_send,
                       until_interrupted=True)  # Ctrl-C: the statistics, as iputils
    if args.json:
        render.write_json(result)
    else:
        if args.flood:
            print()
        print(f"\n--- {args.host} ping statistics ---")
        extra = (f", +{result.duplicates} duplicates" if result.duplicates else "") + (
            f", +{result.errors} errors" if result.errors else "")
        print(f"{result.transmitted} packets transmitted, {result.received} received{extra}, "
              f"{result.loss_percent:g}% packet loss, time {result.time_ms}ms")
        if result.rtt_min is not None:
            print(f"rtt min/avg/max/mdev = {result.rtt_min:.3f}/{result.rtt_avg:.3f}/"
                  f"{result.rtt_max:.3f}/{result.rtt_mdev:.3f} ms")
        if args.debug:
            print(f"(socket: {result.socket_type}: {result.why})")
    return 0 if result.received else 1
