"""scan results come sorted by host (IPv4 before IPv6, which do not compare) then port."""

import socket

from socklab.probe import scan


def test_a_scan_of_ipv4_and_ipv6_hosts_sorts_without_mixing_address_types():
    held = [socket.socket() for _ in range(2)]
    for s in held:  # two distinct ports, free once closed: nobody listens there
        s.bind(("127.0.0.1", 0))
    low, high = sorted(s.getsockname()[1] for s in held)
    for s in held:
        s.close()
    results = scan.scan(["::1", "127.0.0.1"], [high, low], timeout=1.0, workers=1)
    assert [(r.host, r.port) for r in results] == [
        ("127.0.0.1", low), ("127.0.0.1", high), ("::1", low), ("::1", high)]
