"""The socket table against ss and netstat on the same sockets, in a fresh namespace.

The test opens sockets of every family inside a namespace it made (a socket belongs
to the namespace of the thread that created it): TCP and UDP on loopback and on
wildcards, UNIX stream/dgram/seqpacket with a path, an abstract name and none,
NETLINK, PACKET and raw sockets. ``ss -an``, ``ss -tuanp``, ``netstat -tuan`` and
``netstat -tuanp`` run in the namespace, and so do ``socklab sockets`` (table and
``--json``); each output is read by one parser per format (tests/classic_parsers.py)
and the records compared field by field. Nothing else lives in a fresh namespace but
the kernel's own NETLINK sockets and each tool's sock_diag socket (left out: every
tool sees its own).

socklab shows the owner of a NETLINK socket that ``ss -p`` leaves blank.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from classic_parsers import parse_netstat, parse_ss
from helpers import SOCKLAB, need_tool

pytestmark = pytest.mark.privileged

SOCK_DIAG = 4  # NETLINK_SOCK_DIAG: each tool's own dump socket


def _make(tmp: Path) -> dict[str, socket.socket]:
    """Run in the namespace: one socket of each kind, named by what it is."""
    made: dict[str, socket.socket] = {}

    def bound(name: str, family: int, kind: int, addr: object, proto: int = 0,
              v6only: int | None = None) -> socket.socket:
        s = made[name] = socket.socket(family, kind, proto)
        if v6only is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        if addr is not None:
            s.bind(addr)
        return s

    bound("tcp-listen", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0)).listen(5)
    client = made["tcp-client"] = socket.create_connection(made["tcp-listen"].getsockname())
    made["tcp-accepted"], _ = made["tcp-listen"].accept()
    client.sendall(b"x" * 10)  # unread: the accepted end's Recv-Q is 10
    bound("tcp6-listen", socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0)).listen(3)
    bound("tcp6-v6only", socket.AF_INET6, socket.SOCK_STREAM, ("::", 0), v6only=1).listen(2)
    bound("tcp6-dual", socket.AF_INET6, socket.SOCK_STREAM, ("::", 0), v6only=0).listen(1)
    bound("udp", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
    bound("udp-connected", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)).connect(
        made["udp"].getsockname())
    made["udp-connected"].send(b"y" * 7)  # waits in the other's receive queue
    bound("udp6-dual", socket.AF_INET6, socket.SOCK_DGRAM, ("::", 0), v6only=0)
    for word, kind in (("stream", socket.SOCK_STREAM), ("dgram", socket.SOCK_DGRAM),
                       ("seqpacket", socket.SOCK_SEQPACKET)):
        s = bound(f"unix-{word}-path", socket.AF_UNIX, kind, str(tmp / word))
        bound(f"unix-{word}-abstract", socket.AF_UNIX, kind,
              f"\0socklab-vs-ss-{os.getpid()}-{word}")
        if kind != socket.SOCK_DGRAM:
            s.listen(4)
        made[f"unix-{word}-a"], made[f"unix-{word}-b"] = socket.socketpair(socket.AF_UNIX,
                                                                            kind)
    bound("netlink", socket.AF_NETLINK, socket.SOCK_RAW, (0, 0), 0)  # NETLINK_ROUTE
    bound("packet-all", socket.AF_PACKET, socket.SOCK_RAW, None, socket.htons(0x0003))
    bound("packet-ip-lo", socket.AF_PACKET, socket.SOCK_DGRAM, ("lo", 0x0800),
          socket.htons(0x0800))
    bound("packet-ipv6", socket.AF_PACKET, socket.SOCK_RAW, None, socket.htons(0x86DD))
    bound("raw-icmp", socket.AF_INET, socket.SOCK_RAW, None, socket.IPPROTO_ICMP)
    bound("raw-icmp6", socket.AF_INET6, socket.SOCK_RAW, None, socket.IPPROTO_ICMPV6)
    return made


@pytest.fixture
def zoo(netns, tmp_path):
    need_tool("ss", "netstat")
    made = netns.run(_make, tmp_path)
    yield netns, made
    for s in made.values():
        s.close()


def _ours(row: dict) -> bool:
    """Not a tool's own sock_diag socket (protocol 4, a portid of its own)."""
    if row["netid"] != "nl":
        return True
    proto, _, portid = row["local"].partition(":")
    return not (proto == str(SOCK_DIAG) and portid != "0")


def _key(row: dict) -> tuple:
    return tuple((k, str(v)) for k, v in sorted(row.items()))


def _inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def _comm() -> str:
    return Path("/proc/self/comm").read_text().strip()


def _netlink_sorted(rows):
    netlink = sorted((r for r in rows if r["netid"] == "nl"), key=lambda r: (r["local"], r["peer"]))
    return netlink + [r for r in rows if r["netid"] != "nl"]


def test_ss_an_and_the_table_list_the_same_sockets(zoo):
    ns, made = zoo
    real = [r for r in parse_ss(ns.exec("ss", "-an").stdout) if _ours(r)]
    ours = [r for r in parse_ss(ns.exec(*SOCKLAB, "sockets", "-an").stdout) if _ours(r)]
    # in ss's order too: netlink, packet, unix, raw, udp, tcp; but netlink sockets come
    # in their hash table's order, which a socket made or closed between the two dumps
    # (ss's own, socklab's own) can change: among themselves they are compared as a set
    assert _netlink_sorted(ours) == _netlink_sorted(real)
    by_local = {r["local"]: r for r in ours}
    # every socket the test made is there, each as ss shows its kind
    for word in ("stream", "dgram", "seqpacket"):
        a, b = made[f"unix-{word}-a"], made[f"unix-{word}-b"]
        assert by_local[f"* {_inode(a)}"]["peer"] == f"* {_inode(b)}"
        path = made[f"unix-{word}-path"].getsockname()
        assert by_local[f"{path} {_inode(made[f'unix-{word}-path'])}"]["peer"] == "* 0"
        abstract = made[f"unix-{word}-abstract"]
        name = "@" + abstract.getsockname()[1:].decode()
        assert f"{name} {_inode(abstract)}" in by_local
    assert by_local["*:*"]["netid"] == "p_raw"
    assert by_local["[2048]:lo"]["netid"] == "p_dgr"
    assert by_local["[34525]:*"]["netid"] == "p_raw"
    assert by_local["0.0.0.0:1"]["netid"] == by_local["*:58"]["netid"] == "raw"
    ends = {(r["local"], r["peer"]): r for r in ours}
    host, port = made["tcp-client"].getsockname()
    accepted = ends[(f"127.0.0.1:{made['tcp-listen'].getsockname()[1]}", f"{host}:{port}")]
    assert (accepted["state"], accepted["recv_q"]) == ("ESTAB", 10)
    assert len(real) >= len(made)


def test_ss_tuanp_and_the_table_agree_with_the_owners(zoo):
    """The process column ``users:(("name",pid=N,fd=F))``: the test's process, the
    descriptor of each socket."""
    ns, made = zoo
    real = parse_ss(ns.exec("ss", "-tuanp").stdout)
    ours = parse_ss(ns.exec(*SOCKLAB, "sockets", "-tuanp").stdout)
    assert ours == real
    owners = {tuple(r["users"]) for r in ours}
    for name, s in made.items():
        if name.startswith(("tcp", "udp")):
            assert ((_comm(), os.getpid(), s.fileno()),) in owners, name
    assert len(ours) == sum(name.startswith(("tcp", "udp")) for name in made)


def test_ss_anp_owners_of_every_family(zoo):
    """``ss -anp`` gives no owner for NETLINK sockets; socklab does: the others agree."""
    ns, made = zoo
    real = {r["local"]: r for r in parse_ss(ns.exec("ss", "-anp").stdout) if _ours(r)}
    ours = {r["local"]: r for r in parse_ss(ns.exec(*SOCKLAB, "sockets", "-anp").stdout)
            if _ours(r)}
    assert ours.keys() == real.keys()
    for local, row in ours.items():
        if row["netid"] == "nl":
            assert real[local]["users"] is None
            assert row == {**real[local], "users": row["users"]}
        else:
            assert row == real[local], local
    assert ours["0:" + str(made["netlink"].getsockname()[0])]["users"] == [
        (_comm(), os.getpid(), made["netlink"].fileno())]


@pytest.fixture
def shared(zoo):
    """The TCP listener inherited by two children (``sleep``): three owners."""
    ns, made = zoo
    fd = made["tcp-listen"].fileno()
    kids = [subprocess.Popen(["sleep", "60"], pass_fds=[fd]) for _ in range(2)]
    try:
        yield ns, made, kids
    finally:
        for kid in kids:
            kid.kill()
            kid.wait()


def test_several_owners_read_as_ss_and_netstat_show_them(shared):
    """ss lists the owners last found first; netstat names the first one found;
    the JSON records keep them in the order /proc was read."""
    ns, made, kids = shared
    real = parse_ss(ns.exec("ss", "-tuanp").stdout)
    ours = parse_ss(ns.exec(*SOCKLAB, "sockets", "-tuanp").stdout)
    assert sorted(map(_key, ours)) == sorted(map(_key, real))
    port = made["tcp-listen"].getsockname()[1]
    (listener,) = [r for r in ours if r["local"] == f"127.0.0.1:{port}" and
                   r["state"] == "LISTEN"]
    fd = made["tcp-listen"].fileno()
    assert sorted(listener["users"]) == sorted([(_comm(), os.getpid(), fd)] +
                                               [("sleep", k.pid, fd) for k in kids])
    records = json.loads(ns.exec(*SOCKLAB, "--json", "sockets", "-tlp").stdout)
    (rec,) = [r for r in records if r["local_port"] == port]
    assert [tuple(p.values()) for p in rec["processes"]][::-1] == [
        (pid, name, f) for name, pid, f in listener["users"]]
    (line,) = [r for r in parse_netstat(ns.exec("netstat", "-tlnp").stdout)
               if r["local"] == f"127.0.0.1:{port}"]
    assert line["pid"] == rec["processes"][0]["pid"]


# netstat's state words (net-tools netstat.c tcp_state[]); an unconnected UDP
# socket has none (udp_do_one: TCP_CLOSE is "")
NETSTAT_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
                  "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2",
                  "TIME-WAIT": "TIME_WAIT", "CLOSE-WAIT": "CLOSE_WAIT",
                  "LAST-ACK": "LAST_ACK", "LISTEN": "LISTEN", "CLOSING": "CLOSING"}


def _netstat_end(address: str, port: int | None) -> str:
    """netstat -n's end: ``ADDR:PORT``, IPv6 unbracketed, port 0 as ``*``."""
    return f"{address}:{port or '*'}"


def _netstat_view(rec: dict) -> dict:
    """What netstat -tuanp prints of a socklab JSON record. Send-Q of a listener is
    0 in /proc/net/tcp (ss and socklab show its backlog there)."""
    state = NETSTAT_STATES.get(rec["state"], rec["state"])
    if rec["netid"] == "udp" and rec["state"] == "UNCONN":
        state = ""
    # netstat keeps the first owner /proc gives (prg_cache_add ignores the others)
    pid = rec["processes"][0]["pid"]
    return {"proto": rec["netid"] + ("6" if rec["family"] == "inet6" else ""),
            "recv_q": rec["recv_q"], "send_q": 0 if rec["state"] == "LISTEN" else rec["send_q"],
            "local": _netstat_end(rec["local_address"], rec["local_port"]),
            "foreign": _netstat_end(rec["peer_address"], rec["peer_port"]),
            "state": state, "pid": pid}


@pytest.mark.parametrize("owners", [False, True])
def test_netstat_tuan_and_the_json_records_agree(zoo, owners):
    ns, made = zoo
    real = parse_netstat(ns.exec("netstat", "-tuan" + "p" * owners).stdout)
    records = json.loads(ns.exec(*SOCKLAB, "--json", "sockets", "-tuap").stdout)
    ours = [_netstat_view(r) for r in records]
    seen = [{k: r[k] for k in ("proto", "recv_q", "send_q", "local", "foreign", "state", "pid")}
            for r in real]
    if not owners:
        ours = [{**r, "pid": None} for r in ours]
    assert sorted(map(_key, ours)) == sorted(map(_key, seen))
    assert len(ours) == sum(name.startswith(("tcp", "udp")) for name in made)
    if owners:
        # netstat names the program by its command line's first word (prg_cache_load)
        argv0 = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0].decode()
        assert {r["program"] for r in real} == {argv0[:len(r["program"])] for r in real}
    assert 10 in {r["recv_q"] for r in seen}  # the accepted end, 10 bytes unread


def test_netstat_and_the_table_tell_the_same_ends(zoo):
    """The table's ends (``[::1]:80``, ``*:80`` for a dual-stack wildcard) and
    netstat's (``::1:80``, ``:::80``) name the same sockets, with the same states."""
    ns, _made = zoo
    real = {(r["local"], r["foreign"]): r for r in parse_netstat(
        ns.exec("netstat", "-tuan").stdout)}
    table = parse_ss(ns.exec(*SOCKLAB, "sockets", "-tuan").stdout)

    def end(text: str) -> str:
        host, _, port = text.rpartition(":")
        host = "::" if host == "*" else host.strip("[]")
        return f"{host}:{port}"

    assert len(table) == len(real)
    for row in table:
        got = real[(end(row["local"]), end(row["peer"]))]
        assert got["proto"].rstrip("6") == row["netid"]
        state = NETSTAT_STATES.get(row["state"], "")
        assert got["state"] == state, row
        assert got["recv_q"] == row["recv_q"]


def test_the_library_names_the_interface_of_a_packet_socket(zoo):
    """The name is read in the listed namespace; the index stays in ``interface``."""
    import socklab

    ns, made = zoo
    recs = {r.inode: r for r in socklab.sockets("packet", all_states=True, netns_name=ns.name)}
    lo = recs[_inode(made["packet-ip-lo"])]
    assert (lo.local_address, lo.interface, lo.protocol, lo.local(), lo.peer()) == (
        "lo", 1, "0x0800", "[2048]:lo", "*")
    unbound = recs[_inode(made["packet-all"])]
    assert (unbound.local_address, unbound.interface, unbound.local()) == ("*", 0, "*:*")


def test_resolving_names_the_netlink_protocol_as_ss_a(zoo):
    """-r, as ss without -n: ``rtnl:PORTID`` (ss -a then names the portid's process
    too: ``rtnl:kernel``; socklab keeps the number)."""
    ns, made = zoo
    portid = made["netlink"].getsockname()[0]
    rows = {r["local"] for r in parse_ss(ns.exec(*SOCKLAB, "sockets", "-ar").stdout)
            if r["netid"] == "nl"}
    assert {"rtnl:0", f"rtnl:{portid}"} <= rows
    real = {r["local"].split(":")[0] for r in parse_ss(ns.exec("ss", "-a").stdout)
            if r["netid"] == "nl"}
    assert {local.split(":")[0] for local in rows} == real


@pytest.mark.parametrize(("ours", "theirs"), [
    (["-un"], ["-un"]), (["-wn"], ["-wn"]), (["-uwn"], ["-uwn"]),
    (["-tn", "--state", "established"], ["-tn", "state", "established"]),
    (["-tun", "--state", "established"], ["-tun", "state", "established"]),
    (["-tn"], ["-tn"]), (["-tln"], ["-tln"])])
def test_a_listing_of_one_state_has_no_state_column(zoo, ours, theirs):
    """ss leaves the State column out when its state filter holds one state (by
    default UDP and RAW list ESTABLISHED sockets only): the same words, line by line
    (ss's header always ends with Process)."""
    ns, _made = zoo
    real = [line.split() for line in ns.exec("ss", *theirs).stdout.splitlines()]
    got = [line.split() for line in ns.exec(*SOCKLAB, "sockets", *ours).stdout.splitlines()]
    head = [w for w in " ".join(real[0]).replace("PortProcess", "Port Process").split()
            if w != "Process"]
    assert [got[0], *got[1:]] == [head, *real[1:]]
    assert ("State" in head) == (ours in (["-tn"], ["-tln"]))
