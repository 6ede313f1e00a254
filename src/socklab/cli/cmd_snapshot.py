"""Record the stack as JSON: links, addresses, routes of every table, rules, neighbours
and the net.* sysctls, to compare later with 'socklab diff'.

examples:
  socklab snapshot > before.json
  socklab --netns lab1 snapshot > lab1.json
  socklab diff before.json                  what changed since

classic: ip -j link; ip -j addr; ip -j route show table all; ip -j rule; ip -j neigh;
         sysctl -a
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options of its own: --netns chooses the namespace


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from socklab.stack import snapshot

    json.dump(snapshot.take(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
