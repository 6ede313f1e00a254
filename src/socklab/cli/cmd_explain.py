"""Run one of the course's call sequences on loopback and draw what happened.

Three columns, in time order: the client process (its socket calls, each fd
named by its role), the kernel and the network (each packet on the wire:
SYN, SYN-ACK, ACK, data with PSH, FIN, RST, UDP datagrams, ICMP), and the
server process; the TCP states of both ends beside their calls, read through
sock_diag after each call or, for the changes quicker than any read, from the
packets as RFC 9293's state machine (figure 5) says.

It runs in a network namespace of its own (as root), else on this machine's
loopback (127.0.0.1); --host forces the latter. Without CAP_NET_RAW the packets
are not captured: the network column says so, and the rest is shown.

examples:
  socklab explain tcp
  socklab explain tcp --server-closes-first
  socklab explain tcp --closed-port
  socklab explain tcp --full-queue
  socklab explain udp --closed-port
  socklab explain ping --svg /tmp/ping.svg
  socklab --json explain unix

classic: strace -e trace=network ... & tcpdump -n -i lo & ss -tan state all
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=("tcp", "udp", "unix", "ping"),
                   help="the sequence: tcp (connected), udp (datagrams), unix, ping")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--server-closes-first", action="store_true",
                   help="tcp: the server closes first (and ends in TIME-WAIT)")
    g.add_argument("--closed-port", action="store_true",
                   help="tcp: connect to a closed port (RST, ECONNREFUSED); udp: send to "
                        "one (ICMP port unreachable)")
    g.add_argument("--full-queue", action="store_true",
                   help="tcp: listen(0) and two clients: the second SYN waits for accept()")
    p.add_argument("--host", action="store_true",
                   help="run on this machine's loopback, not in a namespace of its own")
    p.add_argument("--svg", metavar="FILE",
                   help="also draw the diagram as an SVG picture (- : the picture alone on "
                        "standard output)")


def run(args: argparse.Namespace) -> int:
    from socklab.capture.explain import Variant, explain
    from socklab.capture.sequence import draw, svg
    from socklab.cli.render import terminal_columns

    variant: Variant = ("server-closes-first" if args.server_closes_first
                        else "closed-port" if args.closed_port
                        else "full-queue" if args.full_queue else "normal")
    if args.svg == "-" and args.json:
        from socklab.errors import BadInput

        raise BadInput("--svg - and --json both write to standard output: give --svg a file")
    result = explain(args.kind, variant, host=args.host)
    title = f"socklab explain {args.kind}" + ("" if variant == "normal" else f" --{variant}")
    if args.svg:
        from socklab.userfiles import STDOUT, write_whole

        write_whole(args.svg, svg(result.events, title).encode())
        if args.svg == STDOUT:  # the picture alone on standard output
            return 0
    if args.json:
        sys.stdout.write(json.dumps(result.as_dict()) + "\n")
        return 0
    sys.stdout.write(f"{title}: on {result.where}\n\n")
    sys.stdout.write(draw(result.events, max(terminal_columns(120) - 14, 72)))
    return 0
