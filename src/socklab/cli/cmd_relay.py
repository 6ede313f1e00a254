"""Relay two endpoints both ways, passing a half-close on (a socat for Python).

Without --listen both sides are opened as clients (stdio and exec: count as
sides too). With --listen, A is listened on and B is connected for each client;
--fork serves many clients, one process each.

examples:
  socklab relay --listen tcp:127.0.0.1:8080 tcp:10.0.0.5:80     a TCP forwarder
  socklab relay --listen --fork tcp::2222 unix:/run/app.sock   TCP in front of a UNIX socket
  socklab relay stdio tcp:127.0.0.1:8080                         like connect
  socklab relay --listen unix:/tmp/a.sock exec:'cat' --allow-exec

classic: socat TCP-LISTEN:8080,fork TCP:HOST:80, socat - UNIX-CONNECT:PATH
"""

from __future__ import annotations

import argparse

from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="first endpoint (listened on with --listen)")
    p.add_argument("b", metavar="B", help="second endpoint (connected to)")
    p.add_argument("-l", "--listen", action="store_true", help="listen on A, connect B per client")
    p.add_argument("--fork", action="store_true", help="with --listen: serve many clients")
    p.add_argument("--max-clients", type=int, metavar="N", help="with --fork: stop after N")
    p.add_argument("--allow-exec", action="store_true", help="allow exec: endpoints")
    p.add_argument("--cafile", metavar="FILE", help="CA certificates for a tls: endpoint")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.talk import endpoint, forward, net

    a, b = endpoint.parse(args.a), endpoint.parse(args.b)
    for ep in (a, b):
        if ep.is_raw:  # datagrams with headers, not a byte stream: nothing to relay to
            raise BadInput(f"relay {ep}: a raw endpoint goes with connect or listen "
                           f"(socklab listen {ep} | socklab connect ...)")
    if args.fork and not args.listen:
        raise BadInput("--fork needs --listen")
    if not args.listen:
        forward.relay(a, b, stdio=talkcommon.stdio, allow_exec=args.allow_exec,
                      cafile=args.cafile)
        return 0
    if not a.is_stream or not (a.is_inet or a.is_local):
        raise BadInput(f"relay --listen {a}: give a stream endpoint to listen on")
    listener = net.listen(a)
    try:
        talkcommon.log(f"listening on {talkcommon.where(a, listener)}")
        return forward.serve_relay(listener, b, fork=args.fork, max_clients=args.max_clients,
                                   allow_exec=args.allow_exec, cafile=args.cafile,
                                   log=talkcommon.log, what=str(a))
    finally:
        listener.close()
        net.remove_path(a)
