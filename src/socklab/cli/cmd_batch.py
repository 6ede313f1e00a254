"""Make the changes of a file, one a line, as ip -batch does: every line checked
before anything is sent, then the requests pipelined to the kernel.

Each line is a change in ip's grammar (the words of 'socklab link|addr|route|
rule|neigh VERB ...'); '#' starts a comment; a line ending in '\\' goes on with the next;
blank lines are skipped.

examples:
  socklab -batch routes.txt               (or: socklab batch routes.txt)
  socklab --netns lab1 -batch - < lab.txt  lines from stdin, in namespace lab1
  socklab -batch routes.txt -force        go on after a refused line
  socklab -batch routes.txt --dry-run     the netlink requests, nothing sent

A bad line stops everything before anything is sent: 'FILE:LINE: problem', exit 2.
A line the kernel refuses: nothing is sent after the buffer holding it (up to 64
requests a buffer; the kernel applies the rest of that buffer), unless -force.
Every line is then reported: applied, refused (and why) or not sent; exit 1.

classic: ip -batch FILE [-force]
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the batch file, or - for stdin")
    p.add_argument("--force", "-force", action="store_true",
                   help="go on after a line the kernel refuses (ip -batch -force)")
    p.add_argument("--dry-run", action="store_true",
                   help="check every line and print its netlink requests; send nothing")


def _read(path: str) -> list[str]:
    from socklab.stack.batch import MAX_BYTES
    from socklab.userfiles import read_input

    # lines end at LF alone, as getline(3) ends them for ip (str.splitlines would also
    # cut at form feeds and other separators)
    text = read_input(path, MAX_BYTES, "batch").decode(errors="surrogateescape")
    return text.removesuffix("\n").split("\n") if text else []


def _lines(n: int) -> str:
    return f"{n} line{'' if n == 1 else 's'}"


def ranges(numbers: list[int]) -> str:
    """``1-3, 7, 9-10`` for [1, 2, 3, 7, 9, 10]."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = out[-1].split("-")[0] + f"-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackchange
    from socklab.stack import batch

    source = "stdin" if args.file == "-" else args.file
    result = batch.run(_read(args.file), source=source, force=args.force,
                       dry_run=args.dry_run)
    if args.json:
        render.write_json({
            "source": source, "sent": result.sent,
            "lines": [{"line": o.number, "text": o.text, "operation": o.change.operation,
                       "status": o.status, "error": o.error} for o in result.outcomes]})
        return 0 if result.ok else 1
    if args.dry_run:
        for o in result.outcomes:
            print(f"{source}:{o.number}: {o.change.operation}")
            for what, fields in stackchange.described(o.change):
                print(f"  {what}:")
                width = max((len(name) for name, _ in fields), default=0)
                for name, value in fields:
                    print(f"    {name:<{width}}  {value}")
        print(f"{_lines(len(result.outcomes))} checked; nothing was sent (dry run)")
        return 0
    for o in result.outcomes:
        if o.error is not None:
            sys.stderr.write(f"socklab: error: {source}:{o.number}: {o.error}\n")
    parts = [f"{word} {ranges(result.numbers(status))}" for status, word in (
        ("applied", "applied"), ("partly applied", "partly applied"), ("refused", "refused"),
        ("not sent", "not sent")) if result.numbers(status)]
    print(f"{source}: {_lines(len(result.outcomes))}: " + ("; ".join(parts) or "nothing to do"))
    return 0 if result.ok else 1
