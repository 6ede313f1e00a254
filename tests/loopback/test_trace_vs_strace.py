"""socklab --trace names what strace names: levels, options, protocols, addresses.

The oracle is strace on the same command: every socket(), setsockopt() and
bind() that socklab's trace shows must be a call strace saw, with the same
family, type, protocol, level and option names, and the same address.
Python adds SOCK_CLOEXEC to every socket() it makes; socklab shows the type as
asked, so that flag is left out of the comparison.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SOCKLAB, need_tool

CALLS = ("socket", "setsockopt", "bind")
LINE = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?(\w+)\((.*)\)\s+= (-?\d+)(?: (E\w+))?")


def _run_traced(tmp_path: Path, *args: str, calls: tuple[str, ...] = CALLS,
                stdin: str = "") -> tuple[str, Path]:
    """``socklab --trace ARGS`` under strace: (socklab's stderr, strace's log). A
    ``listen`` gets one client, which sends ``stdin`` and closes."""
    need_tool("strace")
    log = tmp_path / "strace.log"
    cmd = ["strace", "-f", "-qq", "-e", "trace=" + ",".join(calls), "-o", str(log),
           *SOCKLAB, "--trace", *args]
    if args[0] == "listen":
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        err = []
        for line in proc.stderr:  # until it says where it listens; then one client
            err.append(line)
            if "listening on" in line:
                port = int(line.rsplit(":", 1)[1])
                with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                    c.sendall(stdin.encode())
                break
        _out, rest = proc.communicate(timeout=60)
        stderr = "".join(err) + rest
    else:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=stdin)
        stderr = done.stderr
    return stderr, log


def _strace(tmp_path: Path, *args: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Run ``socklab --trace ARGS`` under strace; return (socklab's calls, strace's calls),
    each as (call, fd or None, args..., result) with names normalised."""
    stderr, log = _run_traced(tmp_path, *args)
    ours = [_ours(line) for line in stderr.splitlines() if line.startswith(CALLS)]
    theirs = [t for line in log.read_text().splitlines() if (t := _theirs(line))]
    return ours, theirs


def _type(text: str) -> str:
    return "|".join(sorted(set(text.split("|")) - {"SOCK_CLOEXEC"}))


ROLE = re.compile(r"(fd \d+) \((listening|accepted|client|server|receiver)\)")


def _ours(line: str) -> tuple[str, ...]:
    line = ROLE.sub(r"\1", line)  # the role labels are socklab's own, not strace's
    call, inner, result = re.match(r"(\w+)\((.*)\) = (.*)$", line).groups()
    args = [a.strip() for a in re.split(r", (?![^{]*\})", inner)]
    ok = "-1" if result.startswith("-1") else "ok"
    if call == "socket":
        return (call, args[0], _type(args[1]), args[2], ok)
    if call == "setsockopt":
        return (call, args[0].removeprefix("fd "), args[1], args[2], ok)
    address = args[1]
    if address.startswith("{"):  # {nl_pid=0, nl_groups=0}
        fields = dict(f.split("=") for f in address.strip("{}").split(", "))
        address = f"nl_pid={int(fields['nl_pid'])} nl_groups={int(fields['nl_groups'], 0)}"
    return (call, args[0].removeprefix("fd "), address, ok)


def _theirs(line: str) -> tuple[str, ...] | None:
    m = LINE.match(line)
    if not m or m.group(1) not in CALLS:
        return None
    call, inner, result = m.group(1), m.group(2), m.group(3)
    ok = "-1" if result == "-1" else "ok"
    args = [a.strip() for a in re.split(r", (?![^{]*\})", inner)]
    if call == "socket":
        return (call, args[0], _type(args[1]), args[2], ok)
    if call == "setsockopt":
        return (call, args[0], args[1], args[2], ok)
    sa = args[1]
    if "AF_NETLINK" in sa:
        pid = re.search(r"nl_pid=(\d+)", sa).group(1)
        groups = re.search(r"nl_groups=([0-9a-fx]+)", sa).group(1)
        return (call, args[0], f"nl_pid={pid} nl_groups={int(groups, 16)}", ok)
    m4 = re.search(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([\d.]+)"\)', sa)
    if m4:
        return (call, args[0], f"{m4.group(2)}:{m4.group(1)}", ok)
    m6 = re.search(r'sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]+)"', sa)
    if m6:
        return (call, args[0], f"[{m6.group(2)}]:{m6.group(1)}", ok)
    path = re.search(r'sun_path=@?"([^"]*)"', sa)
    return (call, args[0], path.group(1) if path else sa, ok)


def _assert_seen_in_order(ours: list[tuple[str, ...]], theirs: list[tuple[str, ...]]) -> None:
    """Each of socklab's calls is one of strace's, in the same order (strace also
    sees calls Python makes on its own, e.g. to nscd)."""
    assert ours, "socklab --trace showed no call"
    rest = iter(theirs)
    for call in ours:
        assert any(call == seen for seen in rest), (call, theirs)


def test_listen_names_so_reuseaddr(tmp_path):
    ours, theirs = _strace(tmp_path, "listen", "tcp:127.0.0.1:0")
    assert ("setsockopt", "3", "SOL_SOCKET", "SO_REUSEADDR", "ok") in ours
    assert ("socket", "AF_INET", "SOCK_STREAM", "IPPROTO_TCP", "ok") in ours
    _assert_seen_in_order(ours, theirs)


def test_sockets_names_netlink_protocol_and_address(tmp_path):
    ours, theirs = _strace(tmp_path, "sockets", "-t")
    assert ("socket", "AF_NETLINK", "SOCK_RAW", "NETLINK_SOCK_DIAG", "ok") in ours
    assert ("bind", "3", "nl_pid=0 nl_groups=0", "ok") in ours
    _assert_seen_in_order(ours, theirs)


def test_ping_names_icmp_protocol_and_filter(tmp_path):
    ours, theirs = _strace(tmp_path, "ping", "-c", "1", "-W", "5", "127.0.0.1")
    made = [c for c in ours if c[0] == "socket" and c[-1] == "ok"]
    assert made and made[0][1:4] in (("AF_INET", "SOCK_DGRAM", "IPPROTO_ICMP"),
                                    ("AF_INET", "SOCK_RAW", "IPPROTO_ICMP"))
    if made[0][2] == "SOCK_RAW":  # root, or ping_group_range without our group
        options = [c[2:] for c in ours if c[0] == "setsockopt"]
        assert ("SOL_RAW", "ICMP_FILTER", "ok") in options  # iputils' filter
        # the kernel's receive times, named as strace names 35 on 64-bit Linux
        assert ("SOL_SOCKET", "SO_TIMESTAMPNS_OLD", "ok") in options
    _assert_seen_in_order(ours, theirs)


def test_ping6_names_icmpv6(tmp_path):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 on loopback")
    ours, _theirs = _strace(tmp_path, "ping", "-6", "-c", "1", "-W", "5", "::1")
    made = [c for c in ours if c[0] == "socket" and c[-1] == "ok"]
    assert made and made[0][1:4] in (("AF_INET6", "SOCK_DGRAM", "IPPROTO_ICMPV6"),
                                    ("AF_INET6", "SOCK_RAW", "IPPROTO_ICMPV6"))
    levels = {(c[2], c[3]) for c in ours if c[0] == "setsockopt"}
    assert levels and all(not (lv.isdigit() or opt.isdigit()) for lv, opt in levels), levels


def test_setsockopt_events_name_level_and_option():
    from socklab import trace
    from socklab.kernel import sock as ksock

    seen: list[trace.TraceEvent] = []
    with trace.tracing(seen.append):
        s = ksock.socket(socket.AF_INET, socket.SOCK_STREAM)
        s6 = ksock.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 9)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        finally:
            s.close()
            s6.close()
    assert [e.text().split("(", 1)[1].split(") =")[0] for e in seen[:2]] == [
        "AF_INET, SOCK_STREAM, IPPROTO_IP", "AF_INET6, SOCK_DGRAM, IPPROTO_IP"]
    assert [e.args for e in seen if e.call == "setsockopt"] == [
        ("SOL_SOCKET", "SO_REUSEADDR", "1"), ("SOL_SOCKET", "SO_KEEPALIVE", "1"),
        ("SOL_IP", "IP_TTL", "9"), ("SOL_TCP", "TCP_NODELAY", "1"),
        ("SOL_IPV6", "IPV6_V6ONLY", "1")]


def test_netlink_address_reads_as_sockaddr_nl():
    from socklab.trace import format_address

    assert format_address((0, 0), socket.AF_NETLINK) == "{nl_pid=0, nl_groups=0}"
    assert format_address((1234, 0x11), socket.AF_NETLINK) == "{nl_pid=1234, nl_groups=0x11}"
    assert format_address((0, 0)) == "(0, 0)"  # no family given: as Python shows it


def _strace_fds(log: Path, call: str) -> list[int]:
    """The fds strace saw ``call`` return (socket, accept4) or act on (connect)."""
    fds = []
    for line in log.read_text().splitlines():
        m = LINE.match(line)
        if m and m.group(1) == call and m.group(3) != "-1":
            fds.append(int(m.group(3)) if call in ("socket", "accept4", "accept")
                       else int(m.group(2).split(",")[0]))
    return fds


def test_listen_names_its_fds_by_role(tmp_path):
    """The listening socket and the accepted one are named where they are made and
    labelled after; the numbers are the ones strace saw the kernel return."""
    stderr, log = _run_traced(tmp_path, "listen", "tcp:127.0.0.1:0", "--echo",
                              calls=("socket", "accept4", "accept"), stdin="hi")
    lines = [ln for ln in stderr.splitlines() if not ln.startswith("socklab:")]
    made = re.match(r"socket\(AF_INET, SOCK_STREAM, IPPROTO_TCP\) = fd (\d+) \(listening\)$",
                    lines[0])
    assert made, lines
    listening = int(made.group(1))
    accept = next(ln for ln in lines if ln.startswith("accept("))
    got = re.match(rf"accept\(fd {listening} \(listening\)\) = fd (\d+) \(accepted\) "
                   r"from 127\.0\.0\.1:\d+$", accept)
    assert got, accept
    accepted = int(got.group(1))
    assert listening in _strace_fds(log, "socket")
    assert accepted in _strace_fds(log, "accept4") + _strace_fds(log, "accept")
    # labelled after: every later call on those fds carries the label, closes included
    for ln in lines[1:]:
        for fd, role in ((listening, "listening"), (accepted, "accepted")):
            if re.search(rf"\bfd {fd}\b", ln):
                assert f"fd {fd} ({role})" in ln, ln
    assert f"close(fd {accepted} (accepted)) = ok" in lines
    assert f"close(fd {listening} (listening)) = ok" in lines


@contextlib.contextmanager
def _one_client_server() -> Iterator[int]:
    """A server on 127.0.0.1 that accepts one client and closes it at its end of input."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(60)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                while conn.recv(4096):
                    pass

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        yield server.getsockname()[1]
    finally:
        worker.join(60)
        server.close()


def test_connect_names_the_client_socket(tmp_path):
    with _one_client_server() as port:
        stderr, log = _run_traced(tmp_path, "connect", f"tcp:127.0.0.1:{port}",
                                  calls=("socket", "connect"))
    lines = stderr.splitlines()
    made = re.match(r"socket\(AF_INET, SOCK_STREAM, IPPROTO_TCP\) = fd (\d+) \(client\)$",
                    lines[0])
    assert made, lines
    fd = int(made.group(1))
    assert lines[1] == f"connect(fd {fd} (client), 127.0.0.1:{port}) = ok"
    assert fd in _strace_fds(log, "socket") and fd in _strace_fds(log, "connect")


def test_json_trace_carries_the_role(tmp_path):
    import json

    with _one_client_server() as port:
        stderr, _log = _run_traced(tmp_path, "--trace=json", "connect",
                                   f"tcp:127.0.0.1:{port}")
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert [e["call"] for e in events][:2] == ["socket", "connect"]
    assert {e["role"] for e in events} == {"client"}
    assert events[0]["result"] == f"fd {events[1]['fd']}"  # the text stays strace's
