"""Listen on an endpoint and talk to the clients (a server, like nc -l / ncat -l).

It prints where it listens on stderr, with the real port when 0 was asked.
By default one client, bridged to stdin/stdout; --keep-open serves many at
once from one event loop. For a datagram endpoint (udp:, unix-dgram:) it
receives with recvfrom and answers each sender at its own address (--echo),
or with --connect-first-peer shows the course's pseudo-connected mode.

examples:
  socklab listen tcp:127.0.0.1:0                    one client, stdin/stdout
  socklab listen tcp::8080 --echo --keep-open       an echo server on every address
  socklab listen tcp:127.0.0.1:7000 --chat -k       a chat room (ncat --chat)
  socklab listen udp:127.0.0.1:5000 --echo          answers each datagram's sender
  socklab listen udp:127.0.0.1:5000 --connect-first-peer
  socklab listen unix:/tmp/s.sock --mode 600 --show-peer
  socklab listen tcp::9000 -k --exec 'cat' --allow-exec
  socklab listen tcp::443 --cert c.pem --key k.pem   TLS (with -k: many clients, as ncat --ssl -k)

classic: nc -l PORT, nc -lk, nc -lu, nc -lU PATH, ncat --chat, ncat --exec, socat TCP-LISTEN
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from socklab.cli import options
from socklab.errors import BadInput


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


def _networks(words: list[str], what: str) -> list[Any]:
    import ipaddress

    out = []
    for w in words:
        try:
            out.append(ipaddress.ip_network(w, strict=False))
        except ValueError:
            raise BadInput(f"{what} {w!r}: not an address or CIDR") from None
    return out


def run(args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.talk import endpoint, net, serve
    from socklab.trace import format_address

    ep = endpoint.parse(args.endpoint)
    if not (ep.is_inet or ep.is_local) or ep.tls:
        raise BadInput(f"listen {args.endpoint}: give a socket endpoint (tcp:, udp:, unix: ...);"
                       " for TLS use --cert/--key")
    if args.program and not args.allow_exec:
        raise BadInput("--exec runs a program for every client: add --allow-exec to allow it")
    for name in ("max_conns", "max_clients"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1")
    if args.idle_timeout is not None and not 0 < args.idle_timeout < float("inf"):
        raise BadInput(f"--idle-timeout {args.idle_timeout}: must be a positive number of "
                       "seconds")  # nan fails the comparison too
    mode_bits = None
    if args.file_mode is not None:
        text = args.file_mode
        if not (text.isascii() and text.isdigit() and len(text) <= 4) or \
                any(c in "89" for c in text):
            raise BadInput(f"--mode {text!r}: expected octal permissions, 0 to 7777 (600)")
        mode_bits = int(text, 8)
    if bool(args.cert) != bool(args.key) and not args.cert:
        raise BadInput("--key needs --cert")
    if args.cert and not (ep.is_inet and ep.is_stream):
        raise BadInput(f"listen {ep} --cert: TLS needs a TCP endpoint (tcp:, tcp4:, tcp6:)")
    allow, deny = _networks(args.allow, "--allow"), _networks(args.deny, "--deny")
    tls = None
    if args.cert:
        from socklab.talk import tls as tlsmod

        tls = tlsmod.server_context(args.cert, args.key)
    log = (lambda _m: None) if args.quiet else talkcommon.log
    listener: Any = net.listen(ep, mode=mode_bits)  # a socket, or _TLSListener below
    try:
        where = format_address(listener.getsockname())
        talkcommon.log(f"listening on {ep.scheme}:{where}" if ep.is_inet else
                       f"listening on {ep}")
        if not ep.is_stream:
            return _datagram(listener, args, log, allow, deny)
        if args.program:
            return _exec(listener, args, log, allow, deny, tls)
        mode = args.mode or "stdio"
        if args.keep_open or mode == "chat":
            server = serve.Server(listener, mode, keep_open=args.keep_open,
                                  max_conns=args.max_conns, allow=allow, deny=deny,
                                  idle_timeout=args.idle_timeout,
                                  max_clients=args.max_clients, log=log,
                                  stdin=sys.stdin.buffer if mode == "stdio" else None,
                                  tls=tls)
            server.run()
            return 0
        if tls is not None:
            listener = _TLSListener(listener, tls)
        return _one_client(listener, mode, args, log, allow, deny)
    finally:
        listener.close()
        net.remove_path(ep)


def _accept_admitted(listener: socket.socket, log: Any, allow: list[Any],
                     deny: list[Any]) -> tuple[socket.socket, Any]:
    from socklab.cli import talkcommon
    from socklab.talk import serve

    while True:
        sock, addr = talkcommon.accept(listener, "the listening socket")
        why = serve.refusal(addr, allow, deny)
        if why is None:
            return sock, addr
        log(f"refused {addr}: {why}")
        sock.close()


def _one_client(listener: socket.socket, mode: str, args: argparse.Namespace, log: Any,
                allow: list[Any], deny: list[Any]) -> int:
    """A single client: the fast path (splice) instead of the event loop."""
    from socklab.cli import talkcommon
    from socklab.errors import from_oserror
    from socklab.talk import pump
    from socklab.trace import format_address

    sock, addr = _accept_admitted(listener, log, allow, deny)
    log(f"connection from {format_address(addr) or 'a UNIX peer'}")
    if args.show_peer:
        talkcommon.log(f"peer {talkcommon.peer_credentials(sock) or 'not a UNIX socket'}")
    if args.idle_timeout:
        sock.settimeout(args.idle_timeout)
    try:
        if mode == "stdio":
            pump.bridge(talkcommon.stdio(), pump.End(sock),
                        until_b_ends=talkcommon.interactive())
        elif mode == "discard":
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                pump.copy(pump.End(sock), pump.End(fd=devnull))
            finally:
                os.close(devnull)
        else:  # echo
            pump.copy(pump.End(sock), pump.End(sock))
            sock.shutdown(socket.SHUT_WR)
    except TimeoutError:
        log(f"closed: idle for {args.idle_timeout:g} s")
    except OSError as exc:
        raise from_oserror(exc, f"talk to {format_address(addr)}") from exc
    finally:
        sock.close()
    return 0


def _exec(listener: socket.socket, args: argparse.Namespace, log: Any, allow: list[Any],
          deny: list[Any], tls: Any) -> int:
    """A program per client, the connection as its stdin and stdout (ncat --exec).

    With TLS the program cannot have the socket itself (it would speak in clear):
    a thread per client does the handshake and relays between the TLS stream and
    a socketpair whose other end is the program's stdin and stdout."""
    import shlex
    import threading

    from socklab.kernel import proc
    from socklab.trace import format_address

    argv = shlex.split(args.program)
    if not argv:
        raise BadInput("--exec: give a program")
    proc.check_program(argv)
    children: list[Any] = []
    relays: list[threading.Thread] = []
    served = 0
    while True:
        sock, addr = _accept_admitted(listener, log, allow, deny)
        log(f"connection from {format_address(addr)}: running {argv[0]}")
        if tls is None:
            children.append(proc.spawn(argv, sock.fileno()))
            sock.close()
        else:
            relay = threading.Thread(target=_exec_tls, args=(sock, addr, tls, argv, log),
                                     daemon=True)
            relay.start()
            relays.append(relay)
        served += 1
        children = [c for c in children if c.poll() is None]
        if not args.keep_open or (args.max_clients and served >= args.max_clients):
            break
    for child in children:
        child.wait()
    for relay in relays:
        relay.join()
    return 0


def _exec_tls(sock: socket.socket, addr: Any, ctx: Any, argv: list[str], log: Any) -> None:
    """One --exec client over TLS: handshake, program, relay, in this thread."""
    import errno
    import ssl
    import time

    from socklab.kernel import proc
    from socklab.kernel import sock as ksock
    from socklab.talk import pump, tls

    try:
        stream = tls.accept(sock, ctx)
    except (ssl.SSLError, OSError) as exc:
        log(f"TLS handshake with {addr} failed: {exc}")
        return
    # Out of descriptors (EMFILE, ENFILE), wait as accept does: the connections that
    # are ending free theirs within moments. Up to 3 s, then this client is told no.
    for attempt in range(30):
        try:
            mine, theirs = ksock.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError as exc:
            error = exc
        else:
            try:
                child = proc.spawn(argv, theirs.fileno())
                break
            except OSError as exc:
                mine.close()
                error = exc
            finally:
                theirs.close()
        if error.errno not in (errno.EMFILE, errno.ENFILE) or attempt == 29:
            log(f"closed {addr}: cannot run {argv[0]}: {error.strerror or error}")
            stream.close()
            return
        time.sleep(0.1)
    try:
        pump.bridge(pump.End(stream), pump.End(mine))
    except OSError as exc:
        log(f"closed {addr}: {exc.strerror or exc}")
    finally:
        stream.close()
        mine.close()
        child.wait()


def _datagram(sock: socket.socket, args: argparse.Namespace, log: Any, allow: list[Any],
              deny: list[Any]) -> int:
    from socklab.cli import talkcommon
    from socklab.talk import pump, serve

    if args.connect_first_peer:
        data, _addr = serve.connect_first_peer(sock, talkcommon.log)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        # now a pseudo-connected socket: plain recv/send with the one peer
        pump.bridge(talkcommon.stdio(), pump.End(sock), until_b_ends=True)
        return 0
    serve.serve_datagrams(sock, args.mode or "stdio", log=log, allow=allow, deny=deny,
                          max_datagrams=args.max_clients)
    return 0


class _TLSListener:
    """A listener whose accept() returns TLS-wrapped sockets (handshake at accept)."""

    def __init__(self, sock: socket.socket, ctx: Any) -> None:
        self._sock = sock
        self._ctx = ctx

    def accept(self) -> tuple[socket.socket, Any]:
        import ssl

        from socklab.talk import tls

        while True:
            conn, addr = self._sock.accept()
            conn.setblocking(True)
            try:
                return tls.accept(conn, self._ctx), addr
            except (ssl.SSLError, OSError) as exc:
                sys.stderr.write(f"socklab: TLS handshake with {addr} failed: {exc}\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
