"""Connect to an endpoint: stdin goes to the socket, the socket to stdout (a client, like nc).

On end of stdin the write side is shut (shutdown SHUT_WR) and the answer is
read until the peer closes. For a datagram endpoint (udp:, unix-dgram:) the
socket is pseudo-connected (course 2.1.2): each read of stdin is one datagram,
and only the peer's datagrams are received.

Raw endpoints (CAP_NET_RAW): ip4:HOST:PROTO and ip6:HOST:PROTO open a raw IP
socket (SOCK_RAW, protocol 1-254 by number or /etc/protocols name): each read of
stdin is one datagram's payload, the kernel writes the IP header; what the host
sends back is printed without its IP header. packet:DEV opens a PF_PACKET socket
on DEV: one frame per line of hex on stdin (link header included), the frames
arriving on DEV as hex lines on stdout; -v decodes each one on stderr.

examples:
  socklab connect tcp:127.0.0.1:8080
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socklab connect tcp:localhost:http
  socklab connect udp:[::1]:5353 -w 2
  socklab connect unix:/run/app.sock --show-peer
  socklab connect tls:tcp:example.test:443 --cafile ca.pem
  socklab --trace connect tcp:127.0.0.1:8080     the course's call sequence, live
  printf hello | socklab --trace connect ip4:127.0.0.2:253    a raw IP datagram
  echo ffffffffffff02000000000188b568690a | socklab connect packet:veth0 -v

classic: nc HOST PORT, nc -u, nc -U PATH, socat - TCP:HOST:PORT, socat - IP4-SENDTO:HOST:PROTO,
         socat - INTERFACE:DEV
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from socklab.cli import options

if TYPE_CHECKING:
    from socklab.talk.endpoint import Endpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", help="tcp:HOST:PORT, udp:..., unix:PATH ...")
    p.add_argument("--source", metavar="ADDR:PORT", help="bind to this address first")
    p.add_argument("-w", "--timeout", type=options.seconds(), metavar="SECONDS",
                   help="connect timeout; for datagrams, how long to wait for answers")
    p.add_argument("--cafile", metavar="FILE", help="CA certificates for a tls: endpoint")
    p.add_argument("--show-peer", action="store_true",
                   help="print the UNIX peer's pid/uid/gid (SO_PEERCRED) on stderr")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="raw endpoints: one decoded line per datagram or frame on stderr")


def run(args: argparse.Namespace) -> int:
    import socket

    from socklab.cli import talkcommon
    from socklab.errors import BadInput, from_oserror
    from socklab.talk import client, endpoint, pump

    ep = endpoint.parse(args.endpoint)
    if ep.is_raw:
        return _raw(ep, args)
    if not (ep.is_inet or ep.is_local):
        raise BadInput(f"connect {ep}: give a socket endpoint (tcp:, udp:, unix:, "
                       "ip4: ...)")
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


def _raw(ep: Endpoint, args: argparse.Namespace) -> int:
    """ip4:/ip6:/packet: (socklab.talk.raw)."""
    import errno

    from socklab.cli import talkcommon
    from socklab.errors import BadInput, NetworkError
    from socklab.talk import raw

    for given, name in ((args.source, "--source"), (args.cafile, "--cafile"),
                        (args.show_peer, "--show-peer")):
        if given:
            raise BadInput(f"connect {ep} {name}: not for a raw endpoint")
    timeout: float | None = args.timeout
    if timeout is not None and not 0 < timeout < float("inf"):
        raise BadInput(f"-w {timeout}: the timeout must be a positive number of seconds")
    sock, link = raw.open_raw(ep, client=True)
    try:
        raw.talk(sock, ep, talkcommon.stdio_fd(), talkcommon.stdout(), timeout, link=link,
                 verbose=talkcommon.log if args.verbose else None)
    except NetworkError as exc:
        # a connected raw socket hears ICMP errors (raw(7)): "protocol unreachable"
        # arrives as ENOPROTOOPT, as "port unreachable" is ECONNREFUSED for UDP
        if exc.errno_value != errno.ENOPROTOOPT:
            raise
        talkcommon.log(f"{ep.host} handles no protocol {raw.protocol_number(ep)} "
                       "(ICMP protocol unreachable)")
        return 1
    finally:
        sock.close()
    return 0
