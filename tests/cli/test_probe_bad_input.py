"""Bad input to ping, traceroute, scan, the timeouts and host names of the talk commands:
exit 2, one line on stderr naming the problem, no traceback, no "internal error", and
nothing sent (the checks come before resolving and before any socket)."""

from __future__ import annotations

import pytest
from helpers import run_cli

LONG_LABEL = "a" * 70
LONG_NAME = ".".join(["abcdefgh"] * 30)  # 269 characters, labels of 8
BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e999", "abc", ""]


def cases() -> list[tuple[list[str], str]]:
    """(command line, a word the error must hold)."""
    out: list[tuple[list[str], str]] = []
    for value in BAD_NUMBERS:
        for opt in ("-w", "-W", "-i", "--timeout", "--deadline", "--interval"):
            out.append((["ping", f"{opt}={value}", "-c", "1", "127.0.0.1"], opt.lstrip("-")[:1]))
        out.append((["traceroute", f"--wait={value}", "127.0.0.1"], "wait"))
        out.append((["scan", f"--timeout={value}", "127.0.0.1", "-p", "1"], "timeout"))
        out.append((["connect", f"--timeout={value}", "tcp:127.0.0.1:1"], "timeout"))
        out.append((["send", f"--timeout={value}", "/dev/null", "tcp:127.0.0.1:1"], "timeout"))
        out.append((["listen", f"--idle-timeout={value}", "tcp:127.0.0.1:0"], "idle-timeout"))
    for value in ("0", "-1", "-0.5"):
        out.append((["ping", f"--deadline={value}", "127.0.0.1"], "deadline"))
        out.append((["ping", f"--timeout={value}", "-c", "1", "127.0.0.1"], "timeout"))
        out.append((["traceroute", f"--wait={value}", "127.0.0.1"], "wait"))
    out.append((["ping", "--interval=-1", "-c", "1", "127.0.0.1"], "interval"))
    # as typed: argparse takes "-1" for an option (-4 and -6 exist): still one line
    out.append((["ping", "-W", "-1", "-c", "1", "127.0.0.1"], "timeout"))
    out.append((["ping", "-w", "-1", "127.0.0.1"], "deadline"))
    out.append((["ping", "-w", "0", "127.0.0.1"], "deadline"))
    out += [(["traceroute", f"--tcp={port}", "127.0.0.1"], "tcp")
            for port in ("70000", "0", "-1", "65536", "http")]
    out += [(["traceroute", "-m", "0", "127.0.0.1"], "max-hops"),
            (["traceroute", "-m", "256", "127.0.0.1"], "max-hops"),
            (["traceroute", "-q", "11", "127.0.0.1"], "queries"),
            (["ping", "-c", "0", "127.0.0.1"], "count"),
            (["ping", "-s", "70000", "127.0.0.1"], "size"),
            (["ping", "-t", "256", "127.0.0.1"], "ttl"),
            (["scan", "--concurrency", "0", "127.0.0.1"], "concurrency")]
    hosts = [(LONG_LABEL, "label of 70"), (LONG_LABEL + ".example", "label of 70"),
             (LONG_NAME, "269 characters"), ("a..b", "empty label"),
             ("a\udcff", "UTF-8"), ("a\x01b", "control")]
    for host, word in hosts:
        out.append((["ping", "-c", "1", host], word))
        out.append((["traceroute", host], word))
        out.append((["traceroute", "--icmp", host], word))
        out.append((["scan", host, "-p", "1"], word))
    for host, word in hosts[:4]:  # the endpoints of the talk commands, checked the same way
        out.append((["connect", f"tcp:{host}:80"], word))
        out.append((["connect", f"udp:{host}:80"], word))
        out.append((["listen", f"tcp:{host}:0"], word))
    out.append((["connect", f"tcp:{'a' * 300}:80"], "300 characters"))
    return out


@pytest.mark.parametrize(("argv", "word"), cases())
def test_bad_input_is_one_line_and_exit_2(argv, word):
    proc = run_cli(*argv, timeout=20)  # bytes that are not UTF-8 go as they are (PEP 383)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, (argv, err, proc.stdout)
    assert err.startswith("socklab: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err
    assert word.lower() in err.lower(), err
    assert proc.stdout == b""


def test_a_zone_that_does_not_exist_is_not_found():
    for argv in (["scan", "fe80::1%nosuchdev0", "-p", "1"], ["ping", "fe80::1%nosuchdev0"],
                 ["traceroute", "fe80::1%nosuchdev0"]):
        proc = run_cli(*argv)
        assert proc.returncode == 2 and proc.stderr.count(b"\n") == 1, proc.stderr
        assert b"cannot resolve" in proc.stderr


def test_an_interface_that_does_not_exist_is_not_found(tmp_path):
    from helpers import need_root

    need_root("an ICMP socket to bind to a device")
    proc = run_cli("ping", "-c", "1", "-I", "nosuchdev0", "127.0.0.1")
    assert proc.returncode == 2
    assert proc.stderr == b"socklab: error: ping -I 'nosuchdev0': no such interface or local " \
                          b"address\n"
    for name in ("x" * 40, "a\udcff", "::1"):  # too long, not UTF-8, the other family
        proc = run_cli("ping", "-c", "1", "-I", name, "127.0.0.1")
        assert proc.returncode == 2 and b"no such interface" in proc.stderr, proc.stderr


def test_the_library_refuses_nan_and_inf_too():
    import math

    from socklab.errors import BadInput
    from socklab.probe import ping, scan, traceroute

    for bad in (math.nan, math.inf, -1.0, 0.0):
        with pytest.raises(BadInput):
            ping.ping("127.0.0.1", 1, timeout=bad)
        with pytest.raises(BadInput):
            ping.ping("127.0.0.1", 1, deadline=bad)
        with pytest.raises(BadInput):
            traceroute.traceroute("127.0.0.1", wait=bad)
        with pytest.raises(BadInput):
            scan.scan(["127.0.0.1"], [1], timeout=bad)
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(BadInput):
            ping.ping("127.0.0.1", 1, interval=bad)
    with pytest.raises(BadInput):
        traceroute.traceroute("127.0.0.1", "tcp", 70000)
