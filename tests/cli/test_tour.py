"""The tour on this machine: the traced TCP sequence and the kernel's ephemeral port."""

import json

from helpers import run_cli


def _port_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
    return low, high


def test_tour_shows_traced_tcp_sequence_and_ephemeral_port():
    proc = run_cli("tour")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    for call in ("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = fd", "bind(fd", "listen(fd",
                 "connect(fd", "accept(fd", "sendall(fd", "recv(fd", "close(fd"):
        assert call in out, call
    port = int(out.split("ephemeral port chosen by the kernel: ")[1].split()[0])
    low, high = _port_range()
    assert low <= port <= high


def test_tour_json_has_every_step():
    proc = run_cli("--json", "tour", "tcp")
    assert proc.returncode == 0, proc.stderr
    sections = json.loads(proc.stdout)
    (tcp,) = sections
    assert tcp["status"] == "ok"
    calls = [s["event"]["call"] for s in tcp["steps"] if s["kind"] == "call"]
    assert calls[:4] == ["socket", "bind", "getsockname", "listen"]
    assert "accept" in calls and calls[-1] == "close"
    facts = {s["label"]: s["value"] for s in tcp["steps"] if s["kind"] == "fact"}
    low, high = _port_range()
    assert low <= facts["ephemeral port chosen by the kernel"] <= high


def test_trace_shows_every_call_of_the_tour():
    proc = run_cli("--trace", "tour")
    assert proc.returncode == 0
    tour_calls = [line.strip()[2:] for line in proc.stdout.decode().splitlines()
                  if line.strip().startswith("> ")]
    traced = proc.stderr.decode().splitlines()
    # every call the tour shows is in the trace, in the same order ...
    it = iter(traced)
    assert tour_calls and all(call in it for call in tour_calls)
    # ... and so are the calls it does not show (the socket table's netlink socket)
    assert any(line.startswith("socket(AF_NETLINK, SOCK_RAW") for line in traced)
    assert any(line.startswith("socketpair(AF_UNIX") for line in traced)


def test_trace_json_lines_parse():
    proc = run_cli("--trace=json", "tour")
    assert proc.returncode == 0
    events = [json.loads(line) for line in proc.stderr.decode().splitlines()]
    assert {"socket", "bind", "listen", "accept", "connect", "close"} <= {e["call"] for e in events}
    assert all(set(e) >= {"call", "fd", "args", "result", "errno"} for e in events)


def test_unknown_section_is_bad_input():
    proc = run_cli("tour", "nope")
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1


def test_every_section_runs_ok():
    proc = run_cli("--json", "tour")
    assert proc.returncode == 0, proc.stderr
    sections = json.loads(proc.stdout)
    assert [s["name"] for s in sections] == ["stack", "change", "lab", "tcp", "udp", "unix",
                                             "sockets", "ping"]
    # ping may be skipped on a machine where neither ping socket may be opened, and the
    # change and lab sections without root (they make namespaces)
    assert all(s["status"] == "ok" or (s["name"] in ("ping", "change", "lab")
                                       and s["status"] == "skipped")
               for s in sections), [(s["name"], s["reason"]) for s in sections]
    udp = next(s for s in sections if s["name"] == "udp")
    facts = {f["label"]: f["value"] for f in udp["steps"] if f["kind"] == "fact"}
    assert facts["received after connect()"] == repr(b"from the peer")
