"""Capture packets on an interface and print one line each, as tcpdump -n does.

A PF_PACKET socket (CAP_NET_RAW) with a TPACKET_V3 receive ring; FILTER uses
pcap's words (host, net, port, portrange, proto, src, dst, ip, ip6, arp, tcp,
udp, icmp, icmp6, and/or/not, parentheses), compiled by socklab to classic BPF
and attached to the socket, so the kernel drops the other packets.
-w writes a pcap file (Ethernet, or Linux cooked capture for -i any) under its
name only once complete; -r reads one. Ctrl-C or SIGTERM ends the capture and
prints the kernel's counters, as tcpdump does.

examples:
  socklab sniff -i lo -c 10 tcp port 8080
  socklab sniff -i any -w /tmp/capture.pcap 'icmp or arp'
  socklab sniff -r /tmp/capture.pcap -v 'host 127.0.0.1 and not port 22'
  socklab --json sniff -i lo -c 3 udp

classic: tcpdump -n [-i DEV] [-c COUNT] [-v] [-w FILE] [-r FILE] [EXPRESSION]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from types import FrameType
from typing import Any

_LINKTYPE_NAMES = {1: "EN10MB (Ethernet)", 113: "LINUX_SLL (Linux cooked v1)",
                   276: "LINUX_SLL2 (Linux cooked v2)", 101: "RAW (Raw IP)"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("expression", nargs="*", metavar="FILTER",
                   help="which packets to keep (pcap-filter words)")
    p.add_argument("-i", "--interface", metavar="DEV|any",
                   help="the interface to capture on (default: any)")
    p.add_argument("-c", "--count", type=int, metavar="N", help="stop after N packets")
    p.add_argument("-n", dest="numeric", action="store_true",
                   help="numeric addresses and ports (always: socklab does no lookups)")
    p.add_argument("-v", "--verbose", action="store_true", help="the IP header's fields too")
    p.add_argument("-S", "--absolute-seq", action="store_true",
                   help="absolute TCP sequence numbers")
    p.add_argument("-w", "--write", metavar="FILE", help="write the packets to a pcap file")
    p.add_argument("-r", "--read", metavar="FILE", help="read packets from a pcap file")
    p.add_argument("-s", "--snaplen", type=int, default=262144, metavar="BYTES",
                   help="bytes kept of each packet (default 262144)")
    p.add_argument("-B", "--buffer-size", type=int, default=2048, metavar="KiB",
                   help="the kernel's ring size in KiB (default 2048, as tcpdump)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop after this many seconds")


def _layers(packet: Any) -> dict[str, Any]:
    from socklab.cli import render

    out: dict[str, Any] = render.to_jsonable(packet)
    for name in ("link", "network", "transport"):
        layer = getattr(packet, name)
        if layer is not None:
            out[name] = {"layer": type(layer).__name__, **out[name]}
    return out


def run(args: argparse.Namespace) -> int:
    from socklab.capture.sniffer import sniff

    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        capture = sniff(args.interface, args.count, " ".join(args.expression),
                        read=args.read, snaplen=args.snaplen,
                        buffer_size=args.buffer_size * 1024, timeout=args.timeout,
                        stop=lambda: bool(stopping))
        link = _LINKTYPE_NAMES.get(capture.linktype, str(capture.linktype))

        def banner() -> None:
            if args.read:
                sys.stderr.write(f"reading from file {args.read}, link-type {link}, "
                                 f"snapshot length {args.snaplen}\n")
            else:
                sys.stderr.write(f"listening on {args.interface or 'any'}, link-type {link}, "
                                 f"snapshot length {args.snaplen} bytes\n")
            sys.stderr.flush()

        if args.write:
            capture.save(args.write, on_start=banner)
        else:
            from socklab.capture.sniffer import interface_name
            from socklab.capture.text import Printer

            printer = Printer(verbose=args.verbose, absolute=args.absolute_seq,
                              interface_name=interface_name)
            banner()
            interactive = sys.stdout.isatty()
            for packet in capture:
                if args.json:
                    sys.stdout.write(json.dumps(_layers(packet)) + "\n")
                else:
                    sys.stdout.write(printer.line(packet) + "\n")
                if interactive:
                    sys.stdout.flush()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if not args.read:
        stats = capture.stats
        sys.stderr.write(f"{stats.captured} packets captured\n"
                         f"{stats.received} packets received by filter\n"
                         f"{stats.dropped} packets dropped by kernel\n")
    return 0
