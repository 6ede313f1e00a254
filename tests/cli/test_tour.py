"""The tour on this machine: the traced TCP sequence and the kernel's ephemeral port."""

import json
import os
import re

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
    # the tour labels each fd with its role, fd 5 (accepted), in its own words
    tour_calls = [re.sub(r"(fd \d+) \([^()]*\)", r"\1", line.strip()[2:])
                  for line in proc.stdout.decode().splitlines()
                  if line.strip().startswith("> ")]
    # --trace labels the fds whose role the library knows (listening, client ...)
    traced = [re.sub(r"(fd \d+) \([^()]*\)", r"\1", line)
              for line in proc.stderr.decode().splitlines()]
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
    assert [s["name"] for s in sections] == ["stack", "arp", "change", "lab", "filter", "ipsec",
                                             "sysctl", "families", "tcp", "udp", "roles",
                                             "unix", "addressing", "sockaddr", "sockets", "ping",
                                             "td"]
    # ping may be skipped on a machine where neither ping socket may be opened, and the
    # change, lab, filter and ipsec sections without root (namespaces, xfrm)
    assert all(s["status"] == "ok" or (s["name"] in ("ping", "change", "lab", "filter", "ipsec")
                                       and s["status"] == "skipped")
               for s in sections), [(s["name"], s["reason"]) for s in sections]
    udp = next(s for s in sections if s["name"] == "udp")
    facts = {f["label"]: f["value"] for f in udp["steps"] if f["kind"] == "fact"}
    assert facts["received after connect()"] == repr(b"from the peer")


def test_fds_are_named_by_their_role():
    proc = run_cli("tour", "tcp")
    assert proc.returncode == 0, proc.stderr
    calls = [line.strip()[2:] for line in proc.stdout.decode().splitlines()
             if line.strip().startswith("> ")]
    listening = re.search(r"socket\(AF_INET, SOCK_STREAM, IPPROTO_IP\) = fd (\d+) \(listening\)",
                          calls[0])
    assert listening, calls[0]
    accept = next(c for c in calls if c.startswith("accept("))
    accepted = re.search(r"= fd (\d+) \(accepted\)", accept)
    assert accept.startswith(f"accept(fd {listening.group(1)} (listening)") and accepted, accept
    # every later call on the accepted socket carries its label
    fd = accepted.group(1)
    assert all(f"fd {fd} (accepted)" in c for c in calls[calls.index(accept) + 1:]
               if c.startswith(("recv(fd " + fd, "sendall(fd " + fd)))
    assert f"close(fd {fd} (accepted))" in "\n".join(calls)


def test_sections_selected_by_course_number():
    proc = run_cli("--json", "tour", "2.1.2")
    assert proc.returncode == 0, proc.stderr
    assert [s["name"] for s in json.loads(proc.stdout)] == ["tcp", "udp"]
    proc = run_cli("--json", "tour", "1.1")
    assert proc.returncode == 0, proc.stderr
    assert "stack" in [s["name"] for s in json.loads(proc.stdout)]
    # a number selects its subsections: 2.1 holds 2.1.1 ... 2.1.4
    proc = run_cli("--json", "tour", "--list", "2.1")
    assert proc.returncode == 0, proc.stderr


def test_tour_in_french_from_the_locale_or_lang():
    env = {**os.environ, "LANG": "fr_FR.UTF-8", "LC_ALL": "", "LANGUAGE": ""}
    from_locale = run_cli("tour", "tcp", env=env)
    from_option = run_cli("tour", "tcp", "--lang", "fr")
    for proc in (from_locale, from_option):
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout.decode()
        assert "mode connecté" in out and "port temporaire choisi par le noyau: " in out
        assert "ephemeral" not in out
        assert "(acceptée)" in out and "à essayer ensuite :" in out
    english = run_cli("tour", "tcp", "--lang", "en", env=env).stdout.decode()
    assert "ephemeral port chosen by the kernel" in english and "mode connecté" not in english


def _facts(section):
    return {f["label"]: f["value"] for f in section["steps"] if f["kind"] == "fact"}


def test_new_sections_show_what_the_kernel_did():
    proc = run_cli("--json", "tour", "2.1.3", "2.2.1", "2.2.2", "1.3.3")
    assert proc.returncode == 0, proc.stderr
    by_name = {s["name"]: s for s in json.loads(proc.stdout)}
    # the relay: the server's peer is the relay's own socket, the answer came back
    roles = _facts(by_name["roles"])
    assert roles["client got back"] == repr(b"QUESTION")
    # INADDR_ANY answers on 127.0.0.2, one address does not
    addressing = _facts(by_name["addressing"])
    assert addressing["bound to 0.0.0.0, connect to 127.0.0.2"] == "accepted"
    assert addressing["bound to 127.0.0.1, connect to 127.0.0.2"] == "ECONNREFUSED"
    child = next(k for k in addressing if k.startswith("the child (pid "))
    assert addressing[child] == repr(f"pid {child.split()[3][:-1]}".encode())
    # struct sockaddr sizes, as the kernel wrote them (sizeof in <netinet/in.h>, <sys/un.h>)
    sockaddr = _facts(by_name["sockaddr"])
    assert sockaddr["AF_INET 127.0.0.1"] == "16 bytes"
    assert sockaddr["AF_UNIX socketpair"] == "2 bytes"
    assert sockaddr["AF_NETLINK"] == "12 bytes"
    tables = [s["data"] for s in by_name["sockaddr"]["steps"] if s["kind"] == "table"]
    assert tables[0]["hex"].startswith("0200") and tables[0]["hex"][8:16] == "7f000001"
    # setsockopt changed one socket, not the system's default (socket(7): doubled)
    sysctl = _facts(by_name["sysctl"])
    assert sysctl["SO_RCVBUF"].endswith("-> 131072")
    before, after = sysctl["net.core.rmem_default"].split(" -> ")
    assert before == after


def test_every_section_ends_with_what_to_try_next():
    proc = run_cli("--json", "tour")
    assert proc.returncode == 0, proc.stderr
    for section in json.loads(proc.stdout):
        if section["status"] == "ok":
            assert section["steps"][-1]["kind"] == "next", section["name"]
            assert 1 <= len(section["steps"][-1]["commands"]) <= 2
