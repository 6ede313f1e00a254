"""Print the routers on the way to a host: probes with a growing TTL.

Methods: --udp (default), --icmp, --tcp PORT. UDP and ICMP need no privilege
(the routers' errors are read from the socket's error queue, as tracepath
does; ICMP needs net.ipv4.ping_group_range or CAP_NET_RAW); TCP shows the
routers when it may open a raw ICMP socket.

examples:
  socklab traceroute 10.9.3.2
  socklab traceroute --icmp -q 1 -w 0.5 10.9.3.2
  socklab traceroute --tcp 443 -m 10 example.test
  socklab --json traceroute 10.9.3.2

classic: traceroute, traceroute -I, traceroute -T -p PORT, tracepath
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from socklab.cli import options

if TYPE_CHECKING:
    from socklab.probe import traceroute


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("host", metavar="HOST")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--udp", dest="method", action="store_const", const="udp")
    m.add_argument("--icmp", dest="method", action="store_const", const="icmp")
    m.add_argument("--tcp", dest="tcp_port", type=options.integer(1, 65535, "port"), metavar="PORT")
    p.add_argument("-m", "--max-hops", type=options.integer(1, 255, "hop count"), default=30,
                   metavar="N")
    p.add_argument("-q", "--queries", type=options.integer(1, 10, "probe count"), default=3,
                   metavar="N", help="probes per hop")
    p.add_argument("-w", "--wait", type=options.seconds(), default=1.0, metavar="SECONDS")
    p.add_argument("-n", "--numeric", action="store_true", help="no reverse lookups (default)")
    p.add_argument("-4", dest="ipv6", action="store_const", const=False)
    p.add_argument("-6", dest="ipv6", action="store_const", const=True)


def hop_line(hop: traceroute.Hop) -> str:
    """One hop as traceroute(8) -n prints it (its print_probe): the TTL in two
    columns, then per probe its address when it differs from the previous answer,
    the time, and the mark; `*` for a probe without answer."""
    line = f"{hop.ttl:2d} "
    last = None
    for p in hop.probes:
        if p.address is None:
            line += " *"
            continue
        if p.address != last:
            line += f" {p.address}"
            last = p.address
        if p.rtt_ms is not None:
            line += f"  {p.rtt_ms:.3f} ms"
        if p.note:
            line += f" {p.note}"
    return line


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.probe import traceroute

    # argparse's values, typed here once (the types its converters and consts give)
    host: str = args.host
    port: int | None = args.tcp_port
    chosen: traceroute.Method | None = args.method  # --udp, --icmp
    method: traceroute.Method = "tcp" if port is not None else chosen or "udp"
    max_hops: int = args.max_hops
    probes: int = args.queries
    wait: float = args.wait
    ipv6: bool | None = args.ipv6

    def on_start(address: str) -> None:
        size = traceroute.packet_size(":" in address)
        print(f"traceroute to {host} ({address}), {max_hops} hops max, "
              f"{size} byte packets", flush=True)

    def on_hop(hop: traceroute.Hop) -> None:
        print(hop_line(hop), flush=True)  # as soon as the hop is done, as traceroute

    text = not args.json
    result = traceroute.traceroute(host, method, port, max_hops=max_hops,
                                   probes=probes, wait=wait, ipv6=ipv6,
                                   on_start=on_start if text else None,
                                   on_hop=on_hop if text else None)
    if args.json:
        render.write_json(result)
    return 0 if result.reached else 1
