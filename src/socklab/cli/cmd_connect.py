"""Connect to an endpoint: stdin goes to the socket, the socket to stdout (a client, like nc).

On end of stdin the write side is shut (shutdown SHUT_WR) and the answer is
read until the peer closes. For a datagram endpoint (udp:, unix-dgram:) the
socket is pseudo-connected (course 2.1.2): each read of stdin is one datagram,
and only the peer's datagrams are received.

examples:
  socklab connect tcp:127.0.0.1:8080
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socklab connect tcp:localhost:http
  socklab connect udp:[::1]:5353 -w 2
  socklab connect unix:/run/app.sock --show-peer
  socklab connect tls:tcp:example.test:443 --cafile ca.pem
  socklab --trace connect tcp:127.0.0.1:8080     the course's call sequence, live

classic: nc HOST PORT, nc -u, nc -U PATH, socat - TCP:HOST:PORT
"""

from __future__ import annotations

import argparse

from socklab.cli import options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", help="tcp:HOST:PORT, udp:..., unix:PATH ...")
    p.add_argument("--source", metavar="ADDR:PORT", help="bind to this address first")
    p.add_argument("-w", "--timeout", type=options.seconds(), metavar="SECONDS",
                   help="connect timeout; for datagrams, how long to wait for answers")
    p.add_argument("--cafile", metavar="FILE", help="CA certificates for a tls: endpoint")
    p.add_argument("--show-peer", action="store_true",
                   help="print the UNIX peer's pid/uid/gid (SO_PEERCRED) on stderr")


def run(args: argparse.Namespace) -> int:
    import socket

    from socklab.cli import talkcommon
    from socklab.errors import BadInput, from_oserror
    from socklab.talk import client, endpoint, pump

    ep = endpoint.parse(args.endpoint)
    if not (ep.is_inet or ep.is_local):
        raise BadInput(f"connect {ep}: give a socket endpoint (tcp:, udp:, unix: ...)")
    timeout: float | None = args.timeout
    if timeout is not None and not 0 < timeout < float("inf"):  # nan fails too
        raise BadInput(f"-w {timeout}: the timeout must be a positive number of seconds")
    if ep.is_local and ep.type == socket.SOCK_DGRAM:
        from socklab.talk import dgram

        if args.source is not None:
            raise BadInput(f"connect {ep} --source: a source address is for tcp: and udp: "
                           "endpoints")
        sock = dgram.connect_unix_dgram(ep)
    else:
        sock = client.connect(ep, source=args.source, timeout=timeout, cafile=args.cafile)
    try:
        if args.show_peer:
            from socklab.talk import admission

            talkcommon.log(f"peer {admission.peer_credentials(sock) or 'not a UNIX socket'}")
        if ep.is_stream:
            try:
                pump.bridge(talkcommon.stdio(), pump.End(sock),
                            until_b_ends=talkcommon.interactive())
            except OSError as exc:
                raise from_oserror(exc, f"connect {ep}") from exc
            return 0
        from socklab.talk import dgram

        try:
            dgram.talk(sock, talkcommon.stdio_fd(), talkcommon.stdout(), timeout)
        except ConnectionRefusedError:
            talkcommon.log("the peer's port is closed (ICMP port unreachable)")
            return 1
        return 0
    finally:
        sock.close()
