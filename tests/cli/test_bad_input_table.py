"""The bad-input table: command lines a careless user or an attacker types, generated
systematically, each judged as the README's exit-code table says.

Every case must end with its documented exit code (2 for bad input, 1 for a runtime
failure), exactly one line on stderr starting ``socklab: error:``, no traceback and no
"internal error". The command lines are run as real processes (exit codes and stderr as
a user sees them), several at a time, once for the module; each case is then one test.

None of them may send a packet anywhere: every process runs in a network namespace of
its own that has only a loopback (``unshare -n``), so a name that socklab wrongly hands
to the resolver cannot reach a DNS server either; nothing here listens for long.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import SOCKLAB, need_root, need_tool

# A private network namespace per process, loopback up: no packet leaves it.
ISOLATED = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"]

LONG_LABEL = "a" * 64            # over the 63 bytes of a DNS label (RFC 1035 2.3.4)
LONG_NAME = ".".join(["a" * 60] * 5)  # 304 characters: over the 253 of a name
UNDECODABLE = "host\udcff"       # the byte 0xff on the command line: not UTF-8

# Numbers that no seconds, count or port option accepts.
BAD_SECONDS = ["nan", "inf", "-inf", "-1", "abc", "", "1e999", "0x1p3"]
BAD_COUNTS = ["-1", "abc", "", "1.5", "99999999999999999999", "nan"]
BAD_PORTS = ["70000", "-1", "abc", "", "65536", "1.5"]
BAD_HOSTS = [LONG_LABEL, f"{LONG_LABEL}.example", LONG_NAME, UNDECODABLE, "", "-", "a..b",
             "1.2.3.4.5", "[::1", "::1]", "a b"]


def _numbers(command: list[str], option: str, values: list[str]) -> list[list[str]]:
    return [[*command, f"{option}={value}"] for value in values]


def _cases() -> list[tuple[list[str], int]]:
    bad: list[list[str]] = []
    # global options
    bad += [["--netns", name, "link"] for name in ["", ".", "..", "a/b", "socklab-no-such-ns",
                                                    "x" * 300, "\udcff"]]
    bad += [["--trace=xml", "link"], ["--json"], [], ["nosuchcommand"], ["link", "--bogus"]]
    # sysctl: keys that leave /proc/sys or name nothing
    bad += [["sysctl", key] for key in ["", "..", ".", "net..ipv4", "/etc/passwd",
                                        "net/../../../etc/shadow", "../../etc/passwd",
                                        "net/../../../etc/*", "net.ipv4.nope", "net.\udcff",
                                        "net.ipv4.\x01"]]
    bad += [["sysctl", "-w", item] for item in ["novalue", "=1", "net..x=1",
                                                "net/../../../tmp/x=1",
                                                "net.ipv4.ip_forward=\udcff",
                                                "net.ipv4.nope=1", "net.ipv4.tcp_*=1"]]
    bad += [["sysctl", "--explain", key] for key in ["", "..", "kernel.nope", "net/../x"]]
    # stack views: devices, tables, routes
    bad += [[cmd, dev] for cmd in ("link", "addr", "neigh")
            for dev in ["no-such-dev", "x" * 16, "a/b", "\udcff", ".."]]
    bad += [["route", "--table", table] for table in ["99999999999", "-1", "nosuchtable",
                                                      "4294967296", "1.5"]]
    bad += [["route", "get", dest] for dest in ["300.1.1.1", "", "::1::", "1.2.3", "abc/24",
                                                "127.0.0.1/33", "\udcff"]]
    bad += [["route", "get"], ["route", "frob"], ["route", "-n"]]
    bad += [["link", "--style", "bsd"], ["route", "--style", "bsd"]]
    # ping, traceroute, scan: numbers and hosts
    for option in ("-i", "-W", "-w"):
        bad += _numbers(["ping", "127.0.0.1", "-c", "1"], option, BAD_SECONDS)
    bad += _numbers(["ping", "127.0.0.1"], "-c", BAD_COUNTS)
    bad += _numbers(["ping", "127.0.0.1", "-c", "1"], "-s", ["-1", "abc", "70000"])
    bad += _numbers(["ping", "127.0.0.1", "-c", "1"], "-t", ["-1", "256", "abc"])
    bad += [["ping", "-c", "1", "-w", "0", "127.0.0.1"], ["ping", "-c", "1", "-W", "0", "::1"]]
    bad += [["ping", "-c", "1", host] for host in BAD_HOSTS]
    bad += [["ping", "-c", "1", "-I", "nosuchdev0", "127.0.0.1"], ["ping"]]
    bad += _numbers(["traceroute", "127.0.0.1"], "-w", BAD_SECONDS)
    bad += _numbers(["traceroute", "127.0.0.1"], "-m", ["0", "-1", "abc", "256"])
    bad += _numbers(["traceroute", "127.0.0.1"], "-q", ["0", "-1", "abc", "100"])
    bad += _numbers(["traceroute", "127.0.0.1"], "--tcp", BAD_PORTS)
    bad += [["traceroute", host] for host in BAD_HOSTS]
    bad += _numbers(["scan", "127.0.0.1", "-p", "1"], "--timeout", BAD_SECONDS)
    bad += _numbers(["scan", "127.0.0.1", "-p", "1"], "--concurrency", ["0", "-1", "abc"])
    bad += [["scan", "127.0.0.1", "-p", spec] for spec in ["0", "70000", "5-1", "a", "", ",",
                                                           "1,,2", "1-70000", "x-5", "1-2-3"]]
    bad += [["scan", "-p", "1", host] for host in BAD_HOSTS]
    # talking: endpoints and the options around them
    endpoints = ["tcp:", "tcp:localhost", "tcp:localhost:", "tcp:localhost:70000",
                 "tcp:localhost:-1", "tcp:[::1", "tcp:[\x01]:1", "udp:127.0.0.1:abc",
                 "unix:", "abstract:", "bogus:x", "tls:udp:127.0.0.1:1",
                 f"tcp:{LONG_LABEL}:80", f"tcp:{LONG_NAME}:80", f"tcp:{UNDECODABLE}:80",
                 "unix:" + "a" * 120, "8080", "localhost:80", "unix:/tmp/\udcff",
                 "abstract:\udcff"]
    bad += [["connect", "-w", "1", ep] for ep in endpoints]
    bad += [["listen", ep] for ep in endpoints if ep != "tcp:localhost"]
    # nc's spellings get a hint: a non-ASCII digit must not break the hint's int()
    bad += [["listen", "\u00b2"], ["connect", "\u00b2"], ["connect", "127.0.0.1", "\u00b2"],
            ["connect", "h:\u00b2"], ["send", "1\u00b2"]]
    bad += [["relay", ep, "stdio"] for ep in endpoints[:12]]
    bad += [["send", "/dev/null", ep] for ep in endpoints[:8]]
    bad += [["receive", ep, "/tmp"] for ep in endpoints[:8]]
    bad += _numbers(["connect", "tcp:127.0.0.1:1"], "-w", BAD_SECONDS)
    bad += _numbers(["send", "/dev/null", "tcp:127.0.0.1:1"], "-w", BAD_SECONDS)
    bad += _numbers(["listen", "tcp:127.0.0.1:0"], "--idle-timeout", BAD_SECONDS)
    bad += _numbers(["listen", "tcp:127.0.0.1:0"], "--max-conns", ["0", "-1", "abc"])
    bad += _numbers(["listen", "tcp:127.0.0.1:0"], "--max-clients", ["0", "-1", "abc"])
    bad += [["listen", "tcp:127.0.0.1:0", opt, cidr] for opt in ("--allow", "--deny")
            for cidr in ["bogus", "10.0.0.0/33", "300.0.0.0/8", ""]]
    bad += [["listen", "unix:/tmp/socklab-bad-mode", "--mode", m] for m in ["999", "abc", "-1"]]
    bad += [["listen", "tcp:127.0.0.1:0", "--exec", "/bin/cat"]]  # without --allow-exec
    bad += [["connect", "exec:/bin/cat"], ["relay", "exec:/bin/cat", "stdio"]]
    bad += [["connect", "unix:/nonexistent/socklab.sock"]]  # no such file: a name, as a host
    bad += [["connect", "--source", src, "tcp:127.0.0.1:1"] for src in
            ["bogus", "300.1.1.1:0", "127.0.0.1:70000", "[::1", f"{LONG_LABEL}:0"]]
    bad += [["listen", "tcp:127.0.0.1:0", "--cert", "/nonexistent/cert.pem",
             "--key", "/nonexistent/key.pem"]]
    bad += [["send", "/nonexistent/file", "tcp:127.0.0.1:1"],
            ["send", "/tmp", "tcp:127.0.0.1:1"]]
    bad += [["receive", "tcp:127.0.0.1:0", "/nonexistent/dir/"],
            ["receive", "tcp:127.0.0.1:0", "/nonexistent/dir/file"]]
    # the socket table's filters
    bad += [["sockets", "--state", s] for s in ["bogus", "", "ESTABLISHED;"]]
    bad += [["sockets", opt, port] for opt in ("--sport", "--dport")
            for port in ["70000", "abc", "5-1", "-1", ""]]
    bad += [["sockets", opt, cidr] for opt in ("--src", "--dst")
            for cidr in ["bogus", "10.0.0.0/33", "::1/129", ""]]
    bad += [["sockets", "--pid", pid] for pid in ["abc", "-1", "1.5"]]
    bad += [["sockets", "-an", "--inet"], ["sockets", "--source", "bogus"]]
    # labs (nothing is made: each is refused before the first namespace)
    bad += [["lab"], ["lab", "up"], ["lab", "up", "/nonexistent/lab.toml"], ["lab", "up", "/tmp"],
            ["lab", "up", "nosuchlab"], ["lab", "up", "\udcff"], ["lab", "down", "../x"],
            ["lab", "down", "nosuchlab"], ["lab", "check", "nosuchlab"],
            ["lab", "status", "nosuchlab"], ["lab", "exec", "nosuch:h1", "--", "true"],
            ["lab", "exec", "h1"], ["lab", "shell", "nosuch:h1"], ["lab", "draw", "nosuchlab"],
            ["lab", "export", "lab1"], ["lab", "export", "nosuchlab", "--containerlab"],
            ["lab", "draw", "lab1", "--svg", "/nonexistent/dir/lab.svg"]]
    # the tour
    bad += [["tour", s] for s in ["9.9", "nosuchsection", "", "\udcff"]]
    # digits that are not ASCII: str.isdigit takes '\u00b2' (superscript two), int() does not
    for digit in ("\u00b2", "\u00b9\u00b2"):
        bad += [["filter", "del", digit], ["filter", "trace", "tcp", "127.0.0.1", digit],
                ["connect", "tcp:127.0.0.1:1", "--source", f"127.0.0.1:{digit}"],
                ["route", "add", f"10.0.0.0/{digit}", "dev", "lo", "--dry-run"],
                ["addr", "add", f"10.0.0.1/{digit}", "dev", "lo", "--dry-run"],
                ["ifconfig", "lo", f"10.0.0.1/{digit}", "--dry-run"]]
    return [(argv, 2) for argv in bad]


# A runtime failure (exit 1): the network said no, not the user.
RUNTIME: list[tuple[list[str], int]] = [
    (["connect", "-w", "2", "tcp:127.0.0.1:1"], 1),             # refused
    (["send", "/etc/hostname", "tcp:127.0.0.1:1"], 1),         # refused
    (["connect", "abstract:socklab-no-such-name"], 1),        # refused: nobody bound it

]

CASES = _cases() + RUNTIME


def _case_id(argv: list[str]) -> str:
    text = " ".join(repr(a) if (not a or " " in a) else a for a in argv) or "(nothing)"
    return text.encode("ascii", "backslashreplace").decode()[:80]


@pytest.fixture(scope="module")
def results() -> dict[int, subprocess.CompletedProcess[bytes]]:
    """Every case run once, four at a time (each is a short process)."""
    need_root("runs each command line in a network namespace of its own (unshare -n)")
    need_tool("unshare", "ip")
    env = dict(os.environ, LC_ALL="C.UTF-8")

    def run(index: int) -> tuple[int, subprocess.CompletedProcess[bytes]]:
        command = [*ISOLATED, *SOCKLAB, *CASES[index][0]]
        try:
            return index, subprocess.run(command, capture_output=True, timeout=20,
                                         stdin=subprocess.DEVNULL, env=env, cwd="/tmp")
        except subprocess.TimeoutExpired as exc:  # a bad input taken as a good one
            return index, subprocess.CompletedProcess(command, -1, exc.stdout or b"",
                                                      b"still running after 20 s\n")

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, range(len(CASES))))


def test_the_table_is_large_enough():
    assert len(CASES) >= 300
    assert {argv[0] for argv, _ in CASES if argv} >= {
        "link", "addr", "route", "neigh", "sysctl", "connect", "listen", "relay", "send",
        "receive", "ping", "scan", "traceroute", "sockets", "tour"}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_case_id(a) for a, _ in CASES])
def test_bad_input_is_one_line_with_its_exit_code(results, index):
    argv, code = CASES[index]
    proc = results[index]
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == code, f"{argv}: exit {proc.returncode}, stderr {err!r}"
    assert err.count("\n") == 1 and err.startswith("socklab: error: "), err
    assert "internal error" not in err and "Traceback" not in err, err
