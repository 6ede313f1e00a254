"""Wildcard addresses and queues in the socket table, in every view, as ss shows them.

An IPv6 socket bound to ``::`` is ``[::]`` when it is v6-only and ``*`` when it
also takes IPv4 (dual-stack), its unset peer ``[::]:*`` or ``*:*`` alike; an
IPv4 one is ``0.0.0.0``. The records keep the addresses themselves (``::``,
``0.0.0.0``) and the v6-only flag. Listing IPv4 first once made ``::`` come out
as ``0.0.0.0``: the address cache did not tell the families apart. Netlink
sockets show the memory their queues hold as Recv-Q/Send-Q, as ss does.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess

import pytest
from helpers import need_tool

import socklab
from socklab.cli import main as cli
from socklab.socktable import table
from socklab.socktable.filters import build_query


def _bound(family: int, kind: int, v6only: int | None = None) -> socket.socket:
    s = socket.socket(family, kind)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind(("0.0.0.0" if family == socket.AF_INET else "::", 0))
    if kind == socket.SOCK_STREAM:
        s.listen(5)
    return s


@pytest.fixture
def wildcards():
    """name -> (socket, what the table shows for its local end, its peer, its record's
    address and v6only): TCP listeners and UDP sockets on every wildcard."""
    made = {}
    for proto, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        for name, family, v6only in (("v4", socket.AF_INET, None),
                                     ("v6only", socket.AF_INET6, 1),
                                     ("dual", socket.AF_INET6, 0)):
            s = _bound(family, kind, v6only)
            port = s.getsockname()[1]
            host = {"v4": "0.0.0.0", "v6only": "[::]", "dual": "*"}[name]
            address = "0.0.0.0" if name == "v4" else "::"
            flag = None if v6only is None else bool(v6only)
            made[f"{proto}/{name}"] = (s, f"{host}:{port}", f"{host}:*", address, flag)
    yield made
    for s, *_ in made.values():
        s.close()


def _inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def _table_lines(argv: list[str], capsys) -> dict[str, list[str]]:
    """The table socklab prints, split in columns, by local end."""
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    return {f[4]: f for f in (line.split() for line in lines)}


@pytest.mark.parametrize("argv", [["sockets", "-tuan"], ["sockets", "-tuanp"]])
def test_the_table_shows_each_wildcard_as_ss(wildcards, argv, capsys):
    """-tuan is decoded straight into rows, -tuanp through records: both agree."""
    got = _table_lines(argv, capsys)
    for name, (_s, local, peer, _address, _flag) in wildcards.items():
        assert local in got, (name, local)
        netid, state, _rq, _wq, _local, shown_peer = got[local][:6]
        assert (netid, state, shown_peer) == (name.split("/")[0],
                                              "LISTEN" if name.startswith("tcp") else "UNCONN",
                                              peer), name


def test_json_and_the_library_keep_the_addresses(wildcards, capsys):
    assert cli.main(["--json", "sockets", "-tua"]) == 0
    by_inode = {r["inode"]: r for r in json.loads(capsys.readouterr().out)}
    records = {r.inode: r for r in socklab.sockets("tcp", "udp", all_states=True)}
    rows = {row[4]: row for row in table.rows(build_query(["tcp", "udp"], all_states=True))}
    for name, (s, local, peer, address, flag) in wildcards.items():
        rec = records[_inode(s)]
        assert (rec.local_address, rec.peer_address, rec.v6only) == (address, address, flag), name
        assert (rec.local(), rec.peer()) == (local, peer), name
        assert rows[local][5] == peer, name
        js = by_inode[_inode(s)]
        assert (js["local_address"], js["peer_address"], js["v6only"]) == (address, address,
                                                                          flag), name
        assert js["family"] == ("inet" if name.endswith("v4") else "inet6")


def test_proc_fallback_keeps_the_addresses(wildcards):
    """/proc/net says nothing of v6-only: the records keep ``::`` and v6only None, and
    the table shows ``*``, as ss does reading /proc."""
    records = {r.inode: r for r in socklab.sockets("tcp", "udp", all_states=True,
                                                   source="proc")}
    for name, (s, _local, _peer, address, _flag) in wildcards.items():
        rec = records[_inode(s)]
        assert (rec.local_address, rec.v6only) == (address, None), name
        if name.endswith(("dual", "v6only")):
            assert rec.local() == f"*:{s.getsockname()[1]}"


def _ss(*args: str) -> list[list[str]]:
    need_tool("ss")
    out = subprocess.run(["ss", "-H", *args], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()]


def test_ss_tuan_agrees_field_by_field(wildcards, capsys):
    ss = {f[4]: f[:6] for f in _ss("-tuan")}
    ours = _table_lines(["sockets", "-tuan"], capsys)
    for name, (_s, local, *_rest) in wildcards.items():
        assert ours[local][:6] == ss[local], name


def test_ss_an_agrees_on_netlink_queues(capsys):
    """A netlink socket with a reply waiting (a link dump nobody reads) shows the
    memory its receive queue holds, as ``ss -an``; its portid too."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    try:
        sock.bind((0, 0))
        # RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, then an ifinfomsg
        sock.send(struct.pack("=IHHII", 32, 18, 0x301, 1, 0) + bytes(16))
        portid = sock.getsockname()[0]
        # ss -an names the protocol by number (portids are per protocol)
        ss = [f for f in _ss("-an") if f[0] == "nl" and f[4] == f"0:{portid}"]
        ours = [f for f in _table_lines(["sockets", "-an"], capsys).values()
                if f[0] == "nl" and f[4] == f"0:{portid}"]
        assert len(ss) == len(ours) == 1
        (s_netid, s_state, s_rq, s_wq, _s_local, s_peer), = [f[:6] for f in ss]
        (o_netid, o_state, o_rq, o_wq, _o_local, o_peer), = [f[:6] for f in ours]
        assert (o_netid, o_state, o_rq, o_wq, o_peer) == (s_netid, s_state, s_rq, s_wq, s_peer)
        assert int(o_rq) > 0  # the dump's first chunk, waiting
        (rec,) = [r for r in socklab.sockets("netlink", all_states=True)
                  if (r.local_address, r.local_port) == ("rtnl", portid)]
        assert (rec.recv_q, rec.send_q, rec.memory) == (int(s_rq), int(s_wq), None)
    finally:
        sock.close()
