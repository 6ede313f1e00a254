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
    p.add_argument("--no-sysctl", action="store_true",
                   help="leave the net.* sysctls out (tens of thousands of files with "
                        "hundreds of interfaces); diff then compares the rest")


def run(args: argparse.Namespace) -> int:
    import sys

    from socklab.cli import render
    from socklab.stack import snapshot

    snap = snapshot.take(sysctls=not args.no_sysctl)
    # one record per line: readable and diffable with diff(1), and written by json's C
    # encoder (indent= would take its pure-Python one: 5x slower on 10,000 routes)
    encode = render._item_encoder(ensure_ascii=False)  # the C encoder, made once
    parts = []
    for key, value in snap.items():
        if isinstance(value, list) and value:
            body = ",\n  ".join(encode(item) for item in value)
            parts.append(f" {encode(key)}: [\n  {body}\n ]")
        elif isinstance(value, dict) and value:
            body = ",\n  ".join(f"{encode(k)}: {encode(v)}" for k, v in value.items())
            parts.append(f" {encode(key)}: {{\n  {body}\n }}")
        else:
            parts.append(f" {encode(key)}: {encode(value)}")
    sys.stdout.write("{\n" + ",\n".join(parts) + "\n}\n")
    return 0
