"""Listen on an endpoint and talk to the clients (a server, like nc -l / ncat -l).

It prints where it listens on stderr, with the real port when 0 was asked.
By default one client, bridged to stdin/stdout; --keep-open serves many at
once from one event loop. For a datagram endpoint (udp:, unix-dgram:) it
receives with recvfrom and answers each sender at its own address (--echo),
or with --connect-first-peer shows the course's pseudo-connected mode.

Raw endpoints (CAP_NET_RAW) print what arrives: ip4:ADDR:PROTO / ip6:ADDR:PROTO
(empty ADDR: every address) write each datagram's payload to stdout, the IPv4
header the kernel hands an IPv4 raw socket stripped (its length said on stderr
with the sender); packet:DEV writes each frame arriving on DEV as one line of
hex, link header included (-v: decoded on stderr, as sniff prints it).
--max-clients N stops after N datagrams or frames.

examples:
  socklab listen tcp:127.0.0.1:0                    one client, stdin/stdout
  socklab listen tcp::8080 --echo --keep-open       an echo server on every address
  socklab listen tcp:127.0.0.1:7000 --chat -k       a chat room (ncat --chat)
  socklab listen udp:127.0.0.1:5000 --echo          answers each datagram's sender
  socklab listen udp:127.0.0.1:5000 --connect-first-peer
  socklab listen unix:/tmp/s.sock --mode 600 --show-peer
  socklab listen tcp::9000 -k --exec 'cat' --allow-exec
  socklab listen tcp::443 --cert c.pem --key k.pem   TLS (with -k: many clients, as ncat --ssl -k)
  socklab listen ip4:127.0.0.2:253                 raw IP datagrams of protocol 253
  socklab listen packet:veth0 -v --max-clients 5   five frames, hex and decoded

classic: nc -l PORT, nc -lk, nc -lu, nc -lU PATH, ncat --chat, ncat --exec, socat TCP-LISTEN,
         socat IP4-RECV:PROTO -, socat INTERFACE:DEV -
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from socklab.cli import options
from socklab.errors import BadInput

if TYPE_CHECKING:
    import socket

    from socklab.talk import admission, serve
    from socklab.talk.endpoint import Endpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", help="tcp:HOST:PORT (HOST empty: all), "
                   "udp:..., unix:PATH, abstract:NAME ...")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--echo", dest="mode", action="store_const", const="echo",
                   help="send back what each client sends")
    m.add_argument("--discard", dest="mode", action="store_const", const="discard",
                   help="read and drop")
    m.add_argument("--chat", dest="mode", action="store_const", const="chat",
                   help="each line goes to every other client, prefixed with its sender")
    m.add_argument("--exec", dest="program", metavar="PROGRAM",
                   help="run PROGRAM for each client, the socket as its stdin/stdout "
                        "(needs --allow-exec)")
    p.add_argument("--allow-exec", action="store_true", help="allow --exec to run programs")
    p.add_argument("-k", "--keep-open", action="store_true", help="serve many clients")
    p.add_argument("--max-conns", type=int, metavar="N", help="at most N clients at once")
    p.add_argument("--max-clients", type=int, metavar="N", help="stop after N clients")
    p.add_argument("--allow", action="append", default=[], metavar="CIDR",
                   help="accept only these networks (repeatable)")
    p.add_argument("--deny", action="append", default=[], metavar="CIDR",
                   help="refuse these networks (repeatable; wins over --allow)")
    p.add_argument("--idle-timeout", type=options.seconds(), metavar="SECONDS",
                   help="close a client idle this long")
    p.add_argument("--connect-first-peer", action="store_true",
                   help="datagrams: connect() to the first sender (pseudo-connected mode)")
    p.add_argument("--mode", dest="file_mode", metavar="OCTAL",
                   help="permissions of a UNIX socket file (e.g. 600)")
    p.add_argument("--show-peer", action="store_true",
                   help="print each UNIX peer's pid/uid/gid (SO_PEERCRED)")
    p.add_argument("--cert", metavar="FILE", help="TLS: serve with this certificate")
    p.add_argument("--key", metavar="FILE", help="TLS: the certificate's private key")
    p.add_argument("-q", "--quiet", action="store_true", help="no connection messages")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="raw endpoints: one decoded line per datagram or frame on stderr")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.talk import admission, endpoint, net, serve

    ep = endpoint.parse(args.endpoint)
    if ep.is_raw:
        return _raw(ep, args)
    if not (ep.is_inet or ep.is_local) or ep.tls:
        raise BadInput(f"listen {args.endpoint}: give a socket endpoint (tcp:, udp:, unix: ...);"
                       " for TLS use --cert/--key")
    if args.program and not args.allow_exec:
        raise BadInput("--exec runs a program for every client: add --allow-exec to allow it")
    for name in ("max_conns", "max_clients"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1")
    idle: float | None = args.idle_timeout
    if idle is not None and not 0 < idle < float("inf"):
        raise BadInput(f"--idle-timeout {idle}: must be a positive number of "
                       "seconds")  # nan fails the comparison too
    mode_bits = _file_mode(args.file_mode)
    if bool(args.cert) != bool(args.key) and not args.cert:
        raise BadInput("--key needs --cert")
    if args.cert and not (ep.is_inet and ep.is_stream):
        raise BadInput(f"listen {ep} --cert: TLS needs a TCP endpoint (tcp:, tcp4:, tcp6:)")
    rules = admission.Admission(tuple(admission.networks(args.allow, "--allow")),
                                tuple(admission.networks(args.deny, "--deny")))
    argv = _program(args.program)
    tls = None
    if args.cert:
        from socklab.talk import tls as tlsmod

        tls = tlsmod.server_context(args.cert, args.key)
    log: admission.Log = _quiet if args.quiet else talkcommon.log
    mode: serve.Mode = args.mode or "stdio"
    listener = net.listen(ep, mode=mode_bits)
    try:
        talkcommon.log(f"listening on {talkcommon.where(ep, listener)}")
        if not ep.is_stream:
            return _datagram(listener, args, mode, log, rules)
        if argv is not None:
            from socklab.talk import execute

            execute.serve_exec(listener, argv, tls=tls, keep_open=args.keep_open,
                               max_clients=args.max_clients, admission=rules, log=log,
                               warn=talkcommon.log)
        elif args.keep_open or mode == "chat":
            serve.Server(listener, mode, keep_open=args.keep_open,
                         max_conns=args.max_conns, allow=rules.allow, deny=rules.deny,
                         idle_timeout=idle, max_clients=args.max_clients, log=log,
                         stdin=talkcommon.stdin() if mode == "stdio" else None,
                         tls=tls).run()
        else:
            serve.serve_one(listener, mode, talkcommon.stdio(), admission=rules,
                            idle_timeout=idle, tls=tls,
                            until_stdio_ends=talkcommon.interactive(), log=log,
                            peer=talkcommon.log if args.show_peer else None,
                            warn=talkcommon.log)
        return 0
    finally:
        listener.close()
        net.remove_path(ep)


_NOT_FOR_RAW = (("mode", "--echo/--discard/--chat"), ("program", "--exec"),
                ("keep_open", "--keep-open"), ("max_conns", "--max-conns"), ("allow", "--allow"),
                ("deny", "--deny"), ("idle_timeout", "--idle-timeout"),
                ("connect_first_peer", "--connect-first-peer"), ("file_mode", "--mode"),
                ("show_peer", "--show-peer"), ("cert", "--cert"), ("key", "--key"))


def _raw(ep: Endpoint, args: argparse.Namespace) -> int:
    """ip4:/ip6:/packet: print what arrives (socklab.talk.raw)."""
    from socklab.cli import talkcommon
    from socklab.talk import raw

    for name, option in _NOT_FOR_RAW:
        if getattr(args, name):
            raise BadInput(f"listen {ep} {option}: a raw endpoint only prints what arrives")
    if args.max_clients is not None and args.max_clients < 1:
        raise BadInput("--max-clients must be at least 1")
    sock, link = raw.open_raw(ep, client=False)
    try:
        talkcommon.log(f"listening on {ep}")
        raw.serve(sock, ep, talkcommon.stdout(), link=link, max_messages=args.max_clients,
                  log=None if args.quiet else talkcommon.log,
                  verbose=talkcommon.log if args.verbose else None)
    finally:
        sock.close()
    return 0


def _quiet(_message: str) -> None:
    """-q: no connection messages."""


def _file_mode(text: str | None) -> int | None:
    """--mode: octal permissions, 0 to 7777."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or \
            any(c in "89" for c in text):
        raise BadInput(f"--mode {text!r}: expected octal permissions, 0 to 7777 (600)")
    return int(text, 8)


def _program(command: str | None) -> list[str] | None:
    """--exec's command line, split as a shell would (no shell runs it)."""
    if command is None:
        return None
    import shlex

    argv = shlex.split(command)
    if not argv:
        raise BadInput("--exec: give a program")
    return argv


def _datagram(sock: socket.socket, args: argparse.Namespace, mode: serve.Mode,
              log: admission.Log, rules: admission.Admission) -> int:
    from socklab.cli import talkcommon
    from socklab.talk import pump, serve

    if args.connect_first_peer:
        data, _addr = serve.connect_first_peer(sock, talkcommon.log)
        talkcommon.write_stdout(data)
        # now a pseudo-connected socket: plain recv/send with the one peer
        pump.bridge(talkcommon.stdio(), pump.End(sock), until_b_ends=True)
        return 0
    serve.serve_datagrams(sock, mode, log=log, allow=rules.allow, deny=rules.deny,
                          max_datagrams=args.max_clients)
    return 0
