"""ping, traceroute and scan in the public API (socklab.ping() ...), scan() taking the
command's port spec, and scan's progress bar counting ports."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from helpers import SOCKLAB

import socklab
from socklab.errors import BadInput

pytestmark = pytest.mark.privileged


def test_the_probes_are_functions_of_the_package():
    import inspect

    for name in ("ping", "traceroute", "scan"):
        assert name in socklab.__all__
        assert inspect.isfunction(getattr(socklab, name)), name


def test_ping_and_traceroute_from_the_package(netns):
    result = netns.run(socklab.ping, "127.0.0.1", 2, interval=0.2)
    assert (result.transmitted, result.received) == (2, 2)
    trace = netns.run(socklab.traceroute, "127.0.0.1", "udp", probes=1)
    assert trace.reached and [h.probes[0].address for h in trace.hops] == ["127.0.0.1"]


def test_scan_takes_the_commands_port_spec_and_hosts(netns):
    def listen(port: int) -> socket.socket:
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.listen()
        return s

    socks = [netns.run(listen, p) for p in (22, 85)]
    try:
        results = netns.run(socklab.scan, "127.0.0.1", "22,80-90", timeout=0.5)
        assert [r.port for r in results] == [22, *range(80, 91)]
        assert {r.port for r in results if r.state == "open"} == {22, 85}
        assert netns.run(socklab.scan, ["127.0.0.1/32"], [85])[0].state == "open"
        by_name = netns.run(socklab.scan, "localhost", "ssh")
        assert [(r.host, r.port, r.state) for r in by_name] == [("127.0.0.1", 22, "open")]
    finally:
        for s in socks:
            s.close()
    for bad in ("22,,80", "0-5", "80-70", "nosuchservice"):
        with pytest.raises(BadInput):
            socklab.scan("127.0.0.1", bad)
    with pytest.raises(BadInput):
        socklab.scan("127.0.0.1", [0])


def test_scan_progress_counts_ports_per_second(netns):
    """On a terminal the bar shows ports a second; it is not the file-transfer bar."""
    master, slave = os.openpty()
    try:
        proc = netns.popen(*SOCKLAB, "scan", "127.0.0.1", "-p", "1-2000",
                           stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        slave = -1
        proc.communicate(timeout=60)  # the bar is short: it fits the terminal buffer
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    bar = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, bar
    assert "ports/s" in bar and "MB/s" not in bar and "100%" in bar
