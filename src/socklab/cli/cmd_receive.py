"""Receive one file sent by 'socklab send', checked by size and SHA-256.

It listens on ENDPOINT for one sender. The file appears under its name only
once complete and verified (it is written to a hidden temporary file, then
renamed); a transfer cut short exits 1 and leaves no file under that name.
FILE may be a directory: the sender's file name is kept when it is a plain
file name (not '..', no '/', UTF-8 ...), else the transfer is refused and the
sender told why. FILE's directory must exist when receive starts (exit 2).

examples:
  socklab receive tcp:127.0.0.1:9000 copy.iso
  socklab receive tcp::9000 ./incoming/
  socklab receive unix:/tmp/drop.sock notes.txt

classic: nc -l PORT > FILE (without the check)
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="ENDPOINT", help="where to listen")
    p.add_argument("file", metavar="FILE", help="the file to write, or a directory")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import talkcommon
    from socklab.errors import BadInput
    from socklab.talk import admission, endpoint, net, transfer
    from socklab.trace import format_address

    ep = endpoint.parse(args.endpoint)
    if not ep.is_stream or not (ep.is_inet or ep.is_local):
        raise BadInput(f"receive: {ep} is not a stream endpoint (tcp:, unix: ...)")
    _check_target(args.file)
    listener = net.listen(ep, backlog=1)
    try:
        talkcommon.log(f"listening on {talkcommon.where(ep, listener)}")
        sock, addr = admission.accept(listener, str(ep), talkcommon.log)
    finally:
        listener.close()
        net.remove_path(ep)
    try:
        size = transfer.receive_file(sock, args.file,
                                     talkcommon.ProgressBar(f"receive {args.file}"))
    finally:
        sock.close()
    talkcommon.log(f"received {size} bytes from {format_address(addr)} into {args.file}: "
                   "size and SHA-256 verified")
    return 0


def _check_target(target: str) -> None:
    """Before listening: FILE's directory (or DIR/ itself) must exist, so that a
    mistyped path fails now rather than once a sender has connected."""
    import os

    from socklab.errors import BadInput

    if not target:
        raise BadInput("receive: give a file or a directory to write into")
    folder = target if target.endswith("/") else os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        what = "no such directory" if not os.path.exists(folder) else "not a directory"
        raise BadInput(f"receive {target}: {folder}: {what}")
