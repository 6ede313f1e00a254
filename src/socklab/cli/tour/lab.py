"""Tour section: a lab (course 1.2, 1.3): two LANs and a router, in namespaces.

Builds the shipped lab 1 under a name of its own, shows the ping from h1 to h2
failing while the router's ip_forward is 0, turns it on, shows the ping passing,
and removes the lab. Without root the section explains and is skipped.
"""

from __future__ import annotations

import os

from socklab import netns as knetns
from socklab.cli.tour import Tour
from socklab.lab import build, checks, shipped
from socklab.lab.topology import Check, parse
from socklab.stack import sysctl


def section(t: Tour) -> None:
    t.say("A lab is a small network built of network namespaces: each host and router gets "
          "its own copy of the stack, joined by veth pairs (virtual cables). Lab 1 of the "
          "course: h1 (10.0.1.10) and h2 (10.0.2.10) on two LANs, joined by the router r1, "
          "whose net.ipv4.ip_forward is 0.")
    build.check_privilege()
    name = f"tour{os.getpid() % 10**8}"
    text = shipped.text("lab1").replace('name = "lab1"', f'name = "{name}"', 1)
    lab = parse(text, "lab1.toml")
    build.up(lab, "shipped:lab1")
    try:
        t.fact("lab up", ", ".join(lab.namespaces()), f"socklab lab up lab1 (here: {name})")
        ping = Check("ping", "h1", "10.0.2.10", "pass", "fail")
        seen = checks.run(lab, ping)
        t.fact("ping h1 -> h2", f"{seen.seen}: {seen.reason}",
               "socklab lab exec lab1:h1 -- ping -c1 10.0.2.10")
        t.say("r1 answers on both LANs but does not pass packets from one to the other: it "
              "is a host, not yet a router. Turn forwarding on, in r1 only.")
        setting = knetns.run_in(lab.namespace("r1"), sysctl.write, "net.ipv4.ip_forward",
                                "1")
        t.fact("r1 net.ipv4.ip_forward", f"{setting.old} -> {setting.text.strip()}",
               "socklab lab exec lab1:r1 -- socklab sysctl -w net.ipv4.ip_forward=1")
        seen = checks.run(lab, ping)
        t.fact("ping h1 -> h2", f"{seen.seen}: {seen.reason}")
    finally:
        removed = build.down(lab.name)
    t.fact("lab down", f"{len(removed)} namespaces removed", "socklab lab down lab1")
    t.next_steps("socklab lab up lab1", "socklab lab check lab1")
