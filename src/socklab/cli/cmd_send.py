"""Send a file over a stream socket; the receiver checks its size and SHA-256.

Exit 0 only when the receiver confirmed the file; 1 when the transfer was cut
short or refused, with the receiver's reason. A progress bar (rate, ETA) shows on
a terminal.

examples:
  socklab receive tcp:127.0.0.1:9000 ./incoming/    (on the receiving side, first)
  socklab send big.iso tcp:127.0.0.1:9000
  socklab send notes.txt unix:/tmp/drop.sock

classic: nc -N HOST PORT < FILE (without the check), scp
"""

from __future__ import annotations

import argparse

from socklab.cli import options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("endpoint", metavar="ENDPOINT", help="where 'socklab receive' listens")
    p.add_argument("-w", "--timeout", type=options.seconds(), metavar="SECONDS",
                   help="connect timeout")


def run(args: argparse.Namespace) -> int:
    import os

    from socklab.cli import talkcommon
    from socklab.errors import BadInput
    from socklab.talk import endpoint, net, transfer

    if not os.path.isfile(args.file):  # before any connection is made
        raise BadInput(f"send {args.file}: no such file (or not a regular file)")
    if args.timeout is not None and not 0 < args.timeout < float("inf"):  # nan fails too
        raise BadInput(f"-w {args.timeout}: the timeout must be a positive number of seconds")
    ep = endpoint.parse(args.endpoint)
    if not ep.is_stream or not (ep.is_inet or ep.is_local):
        raise BadInput(f"send: {ep} is not a stream endpoint (tcp:, unix: ...)")
    sock = net.connect(ep, timeout=args.timeout)
    try:
        size = transfer.send_file(sock, args.file, talkcommon.ProgressBar(f"send {args.file}"))
    finally:
        sock.close()
    talkcommon.log(f"sent {args.file} ({size} bytes), checked by the receiver")
    return 0
