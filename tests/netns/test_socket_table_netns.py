"""Socket-table features that need root: raw and packet sockets, namespaces."""

from __future__ import annotations

import json
import os
import socket

import pytest
from helpers import run_cli

import socklab

pytestmark = pytest.mark.privileged


def _inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def test_raw_icmp_socket_is_listed(netns):
    s = netns.run(socket.socket, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        (rec,) = [r for r in socklab.sockets("raw", all_states=True, netns_name=netns.name)]
        assert (rec.inode, rec.netid, rec.protocol, rec.state) == (_inode(s), "raw", "1", "UNCONN")
        out = netns.exec("ss", "-Hwan").stdout.split()
        assert out[0] == "UNCONN" and out[3] == rec.local()
    finally:
        s.close()


def test_packet_socket_is_listed(netns):
    s = netns.run(socket.socket, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    try:
        recs = [r for r in socklab.sockets("packet", all_states=True, netns_name=netns.name)]
        assert [(r.inode, r.netid, r.protocol) for r in recs] == [(_inode(s), "p_raw", "0x0003")]
    finally:
        s.close()


def test_netns_lists_only_that_namespace(netns):
    def listen():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        return srv

    inside = netns.run(listen)
    outside = listen()
    try:
        got = {r.inode for r in socklab.sockets("tcp", listening=True, netns_name=netns.name)}
        assert got == {_inode(inside)}
        proc = run_cli("--netns", netns.name, "--json", "sockets", "-tl")
        assert proc.returncode == 0, proc.stderr
        assert {r["inode"] for r in json.loads(proc.stdout)} == {_inode(inside)}
        here = {r.inode for r in socklab.sockets("tcp", listening=True)}
        assert _inode(outside) in here and _inode(inside) not in here
    finally:
        inside.close()
        outside.close()


def test_all_netns_tags_each_record(netns_factory):
    a, b = netns_factory(), netns_factory()

    def listen():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        return srv

    sa, sb = a.run(listen), b.run(listen)
    try:
        tags = {r.inode: r.netns for r in socklab.sockets("tcp", listening=True, all_netns=True)}
        # the namespaces listed, said when this fails
        assert (tags.get(_inode(sa)), tags.get(_inode(sb))) == (a.name, b.name), \
            sorted(set(tags.values()))
        proc = run_cli("sockets", "-tl", "--all-netns")
        assert proc.returncode == 0, proc.stderr.decode()
        assert a.name in proc.stdout.decode() and b.name in proc.stdout.decode(), proc.stdout
    finally:
        sa.close()
        sb.close()
