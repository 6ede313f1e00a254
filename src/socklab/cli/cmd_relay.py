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
import os
from typing import Any

from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="first endpoint (listened on with --listen)")
    p.add_argument("b", metavar="B", help="second endpoint (connected to)")
    p.add_argument("-l", "--listen", action="store_true", help="listen on A, connect B per client")
    p.add_argument("--fork", action="store_true", help="with --listen: serve many clients")
    p.add_argument("--max-clients", type=int, metavar="N", help="with --fork: stop after N")
    p.add_argument("--allow-exec", action="store_true", help="allow exec: endpoints")
    p.add_argument("--cafile", metavar="FILE", help="CA certificates for a tls: endpoint")


def _open(spec: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """An End for a side opened as a client, and what to clean up after."""
    from socklab.cli import talkcommon
    from socklab.kernel import sock as ksock
    from socklab.talk import net, pump

    if spec.scheme == "stdio":
        return talkcommon.stdio(), None
    if spec.scheme == "exec":
        import socket

        from socklab.kernel import proc

        if not args.allow_exec:
            raise BadInput(f"relay {spec}: exec: runs a program: add --allow-exec")
        mine, theirs = ksock.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child = proc.spawn(spec.argv, theirs.fileno())
        theirs.close()
        return pump.End(mine), (mine, child)
    sock = net.connect(spec, cafile=args.cafile)
    return pump.End(sock), (sock, None)


def _close(handle: Any) -> None:
    if handle is None:
        return
    sock, child = handle
    sock.close()
    if child is not None:
        child.wait()


def run(args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.errors import from_oserror
    from socklab.talk import endpoint, net, pump

    a, b = endpoint.parse(args.a), endpoint.parse(args.b)
    if args.fork and not args.listen:
        raise BadInput("--fork needs --listen")
    if not args.listen:
        end_a, ha = _open(a, args)
        try:
            end_b, hb = _open(b, args)
            try:
                pump.bridge(end_a, end_b)
            except OSError as exc:
                raise from_oserror(exc, f"relay {a} {b}") from exc
            finally:
                _close(hb)
        finally:
            _close(ha)
        return 0
    if not a.is_stream or not (a.is_inet or a.is_local):
        raise BadInput(f"relay --listen {a}: give a stream endpoint to listen on")
    listener = net.listen(a)
    served = 0
    try:
        from socklab.trace import format_address

        talkcommon.log(f"listening on {a.scheme}:{format_address(listener.getsockname())}"
                       if a.is_inet else f"listening on {a}")
        while True:
            conn, _addr = talkcommon.accept(listener, str(a))
            served += 1
            if args.fork:
                pid = os.fork()
                if pid == 0:  # the child serves this client, then exits
                    _child(listener, conn, b, args)
                conn.close()
                _reap(block=False)
                if args.max_clients and served >= args.max_clients:
                    break
                continue
            return _serve_one(conn, b, args)
    finally:
        listener.close()
        net.remove_path(a)
        _reap(block=True)
    return 0


def _child(listener: Any, conn: Any, b: Any, args: argparse.Namespace) -> None:
    """A forked child: serve, then leave with os._exit whatever happens, so that it
    never runs the parent's cleanup (the parent's socket file stays)."""
    code = 1
    try:
        listener.close()
        code = _serve_one(conn, b, args)
    except KeyboardInterrupt:
        code = 130
    except BaseException as exc:  # SIGTERM/SIGHUP (main.Terminated): 128 + the signal
        signum = getattr(exc, "signum", None)
        code = 128 + signum if isinstance(signum, int) else 1
    finally:
        os._exit(code)


def _serve_one(conn: Any, b: Any, args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.errors import SocklabError, from_oserror
    from socklab.talk import pump

    try:
        end_b, hb = _open(b, args)
    except SocklabError as exc:
        talkcommon.log(f"error: {exc}")
        conn.close()
        return exc.exit_code
    try:
        pump.bridge(pump.End(conn), end_b)
    except OSError as exc:
        talkcommon.log(f"error: {from_oserror(exc, 'relay')}")
        return 1
    finally:
        conn.close()
        _close(hb)
    return 0


def _reap(block: bool) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
