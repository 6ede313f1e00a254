"""socklab.sockets() against real sockets, with ss as the oracle."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from helpers import need_tool

import socklab
from socklab.socktable import table
from socklab.socktable.filters import build_query
from socklab.socktable.model import row_of

PID = os.getpid()


def find(inode: int, *kinds: str, **kw):
    found = [r for r in socklab.sockets(*kinds, all_states=True, **kw) if r.inode == inode]
    assert len(found) == 1, found
    return found[0]


def ss_lines(*args: str) -> list[list[str]]:
    need_tool("ss")
    out = subprocess.run(["ss", "-H", *args], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()]


@pytest.fixture
def tcp_trio():
    """A listener, a client connected to it and the accepted end."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(7)
    cli = socket.create_connection(srv.getsockname())
    acc, _ = srv.accept()
    yield srv, cli, acc
    for s in (acc, cli, srv):
        s.close()


def test_tcp_listen_and_established_with_owner(tcp_trio):
    srv, cli, _acc = tcp_trio
    port = srv.getsockname()[1]
    lst = find(os.fstat(srv.fileno()).st_ino, "tcp", processes=True)
    assert (lst.netid, lst.family, lst.state) == ("tcp", "inet", "LISTEN")
    assert (lst.local_address, lst.local_port) == ("127.0.0.1", port)
    assert lst.send_q == 7  # the backlog, as ss shows it
    assert lst.uid == os.geteuid()
    assert (PID, srv.fileno()) in {(p.pid, p.fd) for p in lst.processes}
    est = find(os.fstat(cli.fileno()).st_ino, "tcp")
    assert est.state == "ESTAB"
    assert (est.peer_address, est.peer_port) == ("127.0.0.1", port)
    assert est.local_port == cli.getsockname()[1]
    # ss agrees on every socket of this port
    ours = {(r.state, r.local(), r.peer()) for r in socklab.sockets("tcp", all_states=True,
                                                                    sport=port)}
    ours |= {(r.state, r.local(), r.peer()) for r in socklab.sockets("tcp", all_states=True,
                                                                     dport=port)}
    theirs = {(f[0], f[3], f[4])
              for f in ss_lines("-tan", f"( sport = :{port} or dport = :{port} )")}
    assert ours == theirs and len(ours) == 3


def test_tcp_queues_are_seen(tcp_trio):
    srv, cli, acc = tcp_trio
    cli.sendall(b"x" * 1000)
    for _ in range(100):
        rec = find(os.fstat(acc.fileno()).st_ino, "tcp")
        if rec.recv_q == 1000:
            break
    assert rec.recv_q == 1000
    # the accept queue of a listener: one connection waiting
    extra = socket.create_connection(srv.getsockname())
    try:
        lst = find(os.fstat(srv.fileno()).st_ino, "tcp")
        assert lst.recv_q == 1
    finally:
        extra.close()


def test_time_wait_is_listed_like_ss(tcp_trio):
    srv, cli, acc = tcp_trio
    local = cli.getsockname()
    cli.close()  # the side closing first ends in TIME-WAIT
    acc.recv(1)
    acc.close()
    port = srv.getsockname()[1]
    tw = [r for r in socklab.sockets("tcp", states=["time-wait"], dport=port)]
    assert [(r.local_port, r.state) for r in tw] == [(local[1], "TIME-WAIT")]
    theirs = ss_lines("-tan", "state", "time-wait", f"dport = :{port}")
    assert [(f[2], f[3]) for f in theirs] == [(tw[0].local(), tw[0].peer())]
    # not in the default (connected) listing, as with ss
    assert not [r for r in socklab.sockets("tcp", dport=port) if r.state == "TIME-WAIT"]
    # the table's rows (TIME-WAIT replies are shorter than the listener's, in one dump)
    query = build_query(["tcp"], all_states=True, sport=str(port))
    rows = sorted(table.rows(query))
    assert rows == sorted(map(row_of, socklab.sockets(query=query)))
    assert [r[1] for r in rows] == ["LISTEN"] and list(table.rows(build_query(
        ["tcp"], all_states=True, dport=str(port)))) == [row_of(tw[0])]


def test_tcp6_and_info():
    srv = socket.socket(socket.AF_INET6)
    srv.bind(("::1", 0))
    srv.listen()
    cli = socket.create_connection(srv.getsockname()[:2])
    acc, _ = srv.accept()
    try:
        cli.sendall(b"y" * 5000)
        assert len(acc.recv(10000)) > 0
        rec = find(os.fstat(cli.fileno()).st_ino, "tcp", ipv6=True, extended=True)
        assert rec.family == "inet6" and rec.local_address == "::1"
        assert rec.local().startswith("[::1]:")
        info = rec.tcp_info
        assert info is not None and info.bytes_acked >= 5000 and info.snd_cwnd > 0
        assert info.congestion  # cubic, reno, bbr ...
        assert rec.memory is not None and rec.memory.sndbuf > 0
        assert not [r for r in socklab.sockets("tcp", ipv4=True, all_states=True)
                    if r.inode == rec.inode]
        # the plain table's rows, decoded straight from the IPv6 dump, in brackets
        port = srv.getsockname()[1]
        query = build_query(["tcp"], ipv6=True, all_states=True, sport=str(port))
        rows = sorted(table.rows(query))
        assert rows == sorted(map(row_of, socklab.sockets(query=query)))
        assert [r[1:] for r in rows] == [("ESTAB", 0, 0, f"[::1]:{port}",
                                          f"[::1]:{cli.getsockname()[1]}"),
                                         ("LISTEN", 0, 128, f"[::1]:{port}", "[::]:*")]
    finally:
        for s in (acc, cli, srv):
            s.close()


def test_udp_bound_and_connected():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.connect(a.getsockname())
    try:
        bound = find(os.fstat(a.fileno()).st_ino, "udp")
        assert bound.state == "UNCONN" and bound.peer() == "0.0.0.0:*"
        conn = find(os.fstat(b.fileno()).st_ino, "udp")
        assert conn.state == "ESTAB" and conn.peer_port == a.getsockname()[1]
        # default listing: connected only; -l: the unconnected one
        inodes = {r.inode for r in socklab.sockets("udp")}
        assert conn.inode in inodes and bound.inode not in inodes
        assert bound.inode in {r.inode for r in socklab.sockets("udp", listening=True)}
        theirs = ss_lines("-uan", f"sport = :{a.getsockname()[1]}")
        assert [(f[0], f[3], f[4]) for f in theirs] == [(bound.state, bound.local(), bound.peer())]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("kind,netid", [(socket.SOCK_STREAM, "u_str"),
                                        (socket.SOCK_DGRAM, "u_dgr"),
                                        (socket.SOCK_SEQPACKET, "u_seq")])
def test_unix_socketpair_peers_are_paired(kind, netid):
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    try:
        ra = find(os.fstat(a.fileno()).st_ino, "unix", processes=True)
        rb = find(os.fstat(b.fileno()).st_ino, "unix")
        assert ra.netid == netid and ra.state == "ESTAB" and ra.local_address == "*"
        assert ra.peer_inode == rb.inode and rb.peer_inode == ra.inode
        assert (PID, a.fileno()) in {(p.pid, p.fd) for p in ra.processes}
        theirs = {tuple(f[:6]) for f in ss_lines("-xa") if f[5] == str(ra.inode)}
        assert theirs == {(netid, "ESTAB", "0", "0", "*", str(ra.inode))}
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("kind,netid", [(socket.SOCK_STREAM, "u_str"),
                                        (socket.SOCK_SEQPACKET, "u_seq")])
def test_unix_path_and_abstract_listeners(kind, netid, unix_path, abstract_name):
    path, name = unix_path(), abstract_name()
    s1 = socket.socket(socket.AF_UNIX, kind)
    s1.bind(path)
    s1.listen()
    s2 = socket.socket(socket.AF_UNIX, kind)
    s2.bind("\0" + name)
    s2.listen()
    try:
        r1 = find(os.fstat(s1.fileno()).st_ino, "unix")
        r2 = find(os.fstat(s2.fileno()).st_ino, "unix")
        assert (r1.netid, r1.state, r1.local_address) == (netid, "LISTEN", path)
        assert (r2.netid, r2.state, r2.local_address) == (netid, "LISTEN", "@" + name)
        theirs = {(f[0], f[1], f[4]) for f in ss_lines("-xl")}
        assert {(netid, "LISTEN", path), (netid, "LISTEN", "@" + name)} <= theirs
    finally:
        s1.close()
        s2.close()


def test_unix_dgram_path(unix_path):
    path = unix_path()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    try:
        r = find(os.fstat(s.fileno()).st_ino, "unix")
        assert (r.netid, r.state, r.local_address) == ("u_dgr", "UNCONN", path)
    finally:
        s.close()


def test_netlink_socket_with_protocol_name():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    try:
        r = find(os.fstat(s.fileno()).st_ino, "netlink")
        assert (r.netid, r.protocol, r.local_port) == ("nl", "rtnl", s.getsockname()[0])
    finally:
        s.close()


def test_both_sources_give_equal_records(tcp_trio, unix_path):
    """sock_diag and /proc/net agree on every field /proc has (it lacks some: see model)."""
    u = socket.socket(socket.AF_UNIX)
    u.bind(unix_path())
    u.listen()
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.bind(("127.0.0.1", 0))
    try:
        mine = {os.fstat(s.fileno()).st_ino for s in (*tcp_trio, u, d)}

        def snapshot(source, sources):
            keep = ("netid", "family", "state", "local_address", "local_port",
                    "peer_address", "peer_port", "inode")
            # /proc/net/unix has no queues: compare them for IP sockets only
            return {(*(getattr(r, k) for k in keep), r.recv_q if r.family != "unix" else None)
                    for r in socklab.sockets("tcp", "udp", "unix", all_states=True,
                                             source=source, sources=sources)
                    if r.inode in mine}

        diag_sources: dict[str, str] = {}
        via_diag = snapshot("diag", diag_sources)
        assert set(diag_sources.values()) == {"sock_diag"}
        proc_sources: dict[str, str] = {}
        via_proc = snapshot("proc", proc_sources)
        assert proc_sources and all(v.startswith("/proc/net/") for v in proc_sources.values())
        assert via_diag == via_proc and len(via_diag) == len(mine)
    finally:
        u.close()
        d.close()


def test_filters_pick_exact_subsets(tcp_trio):
    srv, cli, acc = tcp_trio
    sport = srv.getsockname()[1]
    ino = {name: os.fstat(s.fileno()).st_ino for name, s in
           (("srv", srv), ("cli", cli), ("acc", acc))}

    def pick(**kw):
        return {r.inode for r in socklab.sockets("tcp", **kw)} & set(ino.values())

    assert pick(all_states=True) == set(ino.values())
    assert pick() == {ino["cli"], ino["acc"]}  # default: connected only
    assert pick(listening=True) == {ino["srv"]}
    assert pick(all_states=True, sport=sport) == {ino["srv"], ino["acc"]}
    assert pick(all_states=True, dport=sport) == {ino["cli"]}
    assert pick(states=["listening"]) == {ino["srv"]}
    assert pick(states=["connected"]) == {ino["cli"], ino["acc"]}
    assert pick(states=["bucket"]) == set()
    assert pick(all_states=True, src="127.0.0.0/8") == set(ino.values())
    assert pick(all_states=True, src="10.0.0.0/8") == set()
    assert pick(all_states=True, dst="127.0.0.1/32") == {ino["cli"], ino["acc"]}
    assert pick(all_states=True, pids=[PID]) == set(ino.values())
    assert pick(all_states=True, pids=[1]) == set()
    with open(f"/proc/{PID}/comm") as f:
        comm = f.read().strip()
    assert pick(all_states=True, process=comm) == set(ino.values())
    assert pick(all_states=True, ipv6=True) == set()


def test_a_dump_of_many_chunks_misses_and_repeats_nothing(monkeypatch):
    """4,000 connections (8,000 sockets, some 30 netlink chunks, received by the
    prefetching reader thread while the last chunk is decoded): every one of ours
    is listed exactly once, with the ports ss shows."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    port = srv.getsockname()[1]
    socks = []
    try:
        for _ in range(4000):
            c = socket.create_connection(("127.0.0.1", port))
            a, _ = srv.accept()
            socks += [c, a]
        ours = {s.fileno(): os.fstat(s.fileno()).st_ino for s in socks}
        mine = set(ours.values())
        listed = [r for r in socklab.sockets("tcp") if r.inode in mine]
        assert len(listed) == len(mine) == 8000
        assert {r.inode for r in listed} == mine
        ss_pairs = {(line[3], line[4]) for line in ss_lines("-tn", f"sport = :{port}")}
        ours_pairs = {(f"{r.local_address}:{r.local_port}", f"{r.peer_address}:{r.peer_port}")
                      for r in listed if r.local_port == port}
        assert ours_pairs == ss_pairs and len(ss_pairs) == 4000
        # the table's rows, decoded straight from the dump (socklab sockets -tan),
        # are the rows of these records
        pairs = {(f"127.0.0.1:{s.getsockname()[1]}", f"127.0.0.1:{s.getpeername()[1]}")
                 for s in socks}
        rows = [r for r in table.rows(build_query(["tcp"])) if r[4:] in pairs]
        assert sorted(rows) == sorted(map(row_of, listed)) and len(rows) == 8000
        first = socklab.sockets("tcp")  # left after one record: the reader thread ends too
        next(first)
        first.close()
        # the same with one recv per chunk, as where the C library has no recvmmsg
        from socklab.kernel import netlink

        monkeypatch.setattr(netlink, "_receivers", lambda sock, size: [
            netlink._OneByOne(sock, size) for _ in range(4)])
        again = [r for r in socklab.sockets("tcp") if r.inode in mine]
        assert sorted(again) == sorted(listed)
    finally:
        for s in socks:
            s.close()
        srv.close()


def test_port_ranges_are_filtered_by_the_kernel_like_ss():
    """--sport/--dport become inet_diag bytecode: the kernel itself sends only the
    matching sockets, and the set equals what ss's own filter keeps."""
    from socklab.kernel import netlink
    from socklab.socktable import diag

    listeners = []
    conns = []
    try:
        for _ in range(6):
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen()
            listeners.append(srv)
            c = socket.create_connection(srv.getsockname())
            conns += [c, srv.accept()[0]]
        ports = sorted(s.getsockname()[1] for s in listeners)
        low, high = ports[1], ports[4]
        recs = list(socklab.sockets("tcp", all_states=True, sport=f"{low}-{high}"))
        ss = ss_lines("-tan", "-4", f"( sport >= :{low} and sport <= :{high} )")
        # Other processes' sockets come, go and change state between the two dumps,
        # and one may share a local port with a client of this test (connect(2)
        # reuses an ephemeral port towards another peer): compare this test's own
        # sockets, known by both ends, which each filter must keep, all and only
        # those in the range (4 listeners and their 4 accepted ends at least).
        def ends(s: socket.socket) -> tuple[str, str]:
            (here, port), (there, peer) = s.getsockname(), (
                s.getpeername() if s in conns else ("0.0.0.0", "*"))
            return f"{here}:{port}", f"{there}:{peer}"

        mine = {ends(s) for s in listeners + conns}
        want = {(*ends(s), "LISTEN" if s in listeners else "ESTAB")
                for s in listeners + conns if low <= s.getsockname()[1] <= high}
        assert {(r.local(), r.peer(), r.state) for r in recs
                if (r.local(), r.peer()) in mine} == want
        assert {(line[3], line[4], line[0]) for line in ss if (line[3], line[4]) in mine} == want
        assert all(low <= r.local_port <= high for r in recs)
        # the kernel did it: a raw dump with the bytecode holds nothing else
        code = diag.port_bytecode((low, high), None)
        with netlink.NetlinkSocket(netlink.NETLINK_SOCK_DIAG) as nl:
            got = list(nl.dump_chunks(diag.SOCK_DIAG_BY_FAMILY,
                                      diag.inet_request(socket.AF_INET, socket.IPPROTO_TCP,
                                                        bytecode=code),
                                      diag.inet_chunk_decoder("tcp")))
        assert got and all(low <= r.local_port <= high for r in got)
        peers = {(r.local_port, r.peer_port, r.state) for r in socklab.sockets(
            "tcp", all_states=True, dport=f"{low}-{high}")}
        assert {p for _lp, p, _st in peers} <= set(range(low, high + 1)) and len(peers) >= 4
    finally:
        for s in conns + listeners:
            s.close()
