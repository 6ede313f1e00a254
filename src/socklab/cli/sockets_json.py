"""``socklab --json sockets``: records as JSON, fast (imported only for --json).

A 60,000-record listing is the benchmark: each record is written with one
f-string (:func:`record_json`, :func:`inet_json`), equal to ``json.dumps`` of its
``as_dict()`` (tests/cli/test_sockets_cli.py checks it), in batches of 4,096.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socklab.socktable.model import SocketRecord

__all__ = ["inet_json", "record_json", "write"]


def record_json(r: SocketRecord) -> str:
    """One record as a JSON object, equal to ``json.dumps(r.as_dict())``.

    Written out with one f-string: the JSON encoder spends most of its time
    re-encoding the twenty keys of every record, and a 60,000-row listing is
    the benchmark. netid, family and state come from socklab's own tables
    (plain ASCII words), so they need no escaping.
    """
    (netid, family, state, rq, sq, laddr, lport, paddr, pport, inode, uid, iface, pinode,
     proto, cookie, netns, procs, timer, mem, info, v6only) = r  # one unpack, not 21 lookups
    if procs is not None or timer is not None or mem is not None or info is not None:
        return json.dumps(r.as_dict())
    e = encode_basestring
    return (
        f'{{"netid": "{netid}", "family": "{family}", "state": "{state}", '
        f'"recv_q": {"null" if rq is None else rq}, '
        f'"send_q": {"null" if sq is None else sq}, '
        f'"local_address": {e(laddr)}, "local_port": {"null" if lport is None else lport}, '
        f'"peer_address": {e(paddr)}, "peer_port": {"null" if pport is None else pport}, '
        f'"inode": {inode}, "uid": {"null" if uid is None else uid}, '
        f'"interface": {iface}, "peer_inode": {"null" if pinode is None else pinode}, '
        f'"protocol": {"null" if proto is None else e(proto)}, '
        f'"cookie": {"null" if cookie is None else cookie}, '
        f'"netns": {"null" if netns is None else e(netns)}, '
        '"processes": null, "timer": null, "memory": null, "tcp_info": null, '
        f'"v6only": {_BOOL[v6only]}}}'
    )


_BOOL = {None: "null", True: "true", False: "false"}


def inet_json(r: SocketRecord) -> str:
    """:func:`record_json` of a TCP or UDP record from sock_diag with nothing added
    (no owners, namespace or extensions) and no v6-only flag (not a listening or
    unconnected IPv6 socket), with no test per field: every number is set, peer
    inode, protocol and the rest are None, and an address as ``inet_ntop``
    writes it (digits, hex, dots, colons) needs no escaping. :func:`write`
    checks that a whole batch is such records first."""
    (netid, family, state, rq, sq, laddr, lport, paddr, pport, inode, uid, iface, _pinode,
     _proto, cookie, _netns, _procs, _timer, _mem, _info, _v6only) = r
    return (
        f'{{"netid": "{netid}", "family": "{family}", "state": "{state}", '
        f'"recv_q": {rq}, "send_q": {sq}, "local_address": "{laddr}", '
        f'"local_port": {lport}, "peer_address": "{paddr}", "peer_port": {pport}, '
        f'"inode": {inode}, "uid": {uid}, "interface": {iface}, "peer_inode": null, '
        f'"protocol": null, "cookie": {cookie}, "netns": null, "processes": null, '
        '"timer": null, "memory": null, "tcp_info": null, "v6only": null}'
    )


def write(records: Iterable[SocketRecord], plain: bool) -> None:
    """A JSON list, streamed 4,096 records at a time: memory stays flat for large tables.

    ``plain``: nothing was added to the records (no -p, -e, -m, -i, --all-netns).
    Then a batch of TCP and UDP records that all come from sock_diag (a cookie
    each; the /proc fallback has none, nor does it always have queues) and
    without a v6-only flag goes through :func:`inet_json`: the batch is
    checked in three C-level passes instead of thirteen tests per record."""
    from itertools import islice
    from operator import itemgetter

    netid, cookie, v6only = itemgetter(0), itemgetter(14), itemgetter(20)
    out = sys.stdout
    rows = iter(records)
    sep = "[\n  "
    while batch := list(islice(rows, 4096)):
        lean = plain and None not in map(cookie, batch) and set(map(netid, batch)) <= \
            _DIAG_INET and set(map(v6only, batch)) == _NO_FLAG
        out.write(sep + ",\n  ".join(map(inet_json if lean else record_json, batch)))
        sep = ",\n  "
    out.write("\n]\n" if sep != "[\n  " else "[]\n")


_DIAG_INET = {"tcp", "udp"}  # RAW records carry a protocol
_NO_FLAG = {None}
