"""Scan TCP ports with full connects (no privilege needed): open, closed or filtered.

PORTS: lists and ranges (22,80,8000-8100), service names (http), -p- for all;
default: the 1,000 ports nmap scans first. HOST: names, addresses, or a CIDR
block (at most a /16). Only open ports are listed unless --all.

examples:
  socklab scan 127.0.0.1
  socklab scan 127.0.0.1 -p-
  socklab scan localhost -p 22,80,443,8000-8100 --timeout 0.5
  socklab --json scan 10.9.0.0/24 -p ssh

classic: nmap -sT -p PORTS HOST, nc -zv HOST PORTS
"""

from __future__ import annotations

import argparse
import sys

from socklab.cli import options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hosts", nargs="+", metavar="HOST")
    p.add_argument("-p", "--ports", metavar="PORTS", help="ports; '-' (as -p-) for all")
    p.add_argument("--timeout", type=options.seconds(), default=1.0, metavar="SECONDS",
                   help="how long a port may stay silent before it is 'filtered'")
    p.add_argument("--concurrency", type=options.integer(1, 100000, "concurrency"), default=1000,
                   metavar="N",
                   help="connects in flight at once")
    p.add_argument("--all", action="store_true", help="list closed and filtered ports too")


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from socklab import names as procfs  # read_services: /etc/services
    from socklab.cli import render
    from socklab.probe import scan
    from socklab.probe.top_ports import NAMES

    # argparse's values, typed here once (the types its converters give)
    words: list[str] = args.hosts
    spec: str | None = args.ports
    timeout: float = args.timeout
    concurrency: int = args.concurrency
    show_all: bool = args.all
    as_json: bool = args.json
    known = procfs.read_services()
    services = {name: port for (port, proto), name in known.items() if proto == "tcp"}
    names = {port: name for (port, proto), name in known.items() if proto == "tcp"}
    ports = scan.parse_ports(spec, services)
    hosts = scan.parse_targets(words)
    bar = None
    if sys.stderr.isatty() and not as_json:
        from socklab.cli.talkcommon import ProgressBar

        bar = ProgressBar("scan", "ports/s", 1)
    results = scan.scan(hosts, ports, timeout=timeout, concurrency=concurrency,
                        names={**names, **NAMES}, progress=bar)
    if as_json:
        render.write_json(results)
        return 0
    shown = results if show_all else [r for r in results if r.state == "open"]
    render.emit(shown, [render.Column("host", "HOST"), render.Column("port", "PORT", right=True),
                        render.Column("state", "STATE"), render.Column("service", "SERVICE"),
                        render.Column("reason", "REASON")], False)
    counts = Counter(r.state for r in results)
    print(f"{len(hosts)} host(s), {len(ports)} port(s): "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0
