"""Labs: small networks of hosts, switches and routers in network namespaces, with
the course's exercises, checked. No daemon and no container: the kernel only.

examples:
  socklab lab list                            the shipped labs and the running ones
  socklab lab up lab1                         a shipped lab (or: socklab lab up my.toml)
  socklab lab status lab1
  socklab lab exec lab1:h1 -- ping -c1 10.0.2.10
  socklab lab exec h1 -- socklab route        (when one running lab has a node h1)
  socklab lab shell lab1:r1                   a shell in the router
  socklab lab check lab1                      every exercise, pass/fail with the reason
  socklab lab check lab1 forward --json       one exercise, for a grading script
  socklab lab draw lab1
  socklab lab export lab1 --containerlab > lab1.clab.yml
  socklab lab down lab1

Every namespace is named sl-LAB-NODE (the switches' bridges live in sl-LAB), and
the state file /run/socklab/labs/LAB.json records what was made: 'lab down'
removes exactly that, also after a crash. Needs CAP_NET_ADMIN and CAP_SYS_ADMIN.

classic: ip netns add; ip link add type veth peer; ip netns exec NS CMD; brctl addbr
"""

from __future__ import annotations

import argparse
import json
import sys

from socklab.errors import BadInput, NotFound
from socklab.lab.topology import Lab


def add_arguments(p: argparse.ArgumentParser) -> None:
    from socklab.cli.parser import Parser, _global_options

    sub = p.add_subparsers(dest="what", metavar="WHAT", parser_class=Parser)
    sub.required = True
    sp = sub.add_parser("up", help="build a lab from a file or a shipped lab's name")
    sp.add_argument("lab", metavar="FILE|NAME")
    sp.add_argument("--force", action="store_true",
                    help="remove the running lab of that name first, then build it again")
    sp = sub.add_parser("down", help="remove a running lab, and all it made")
    sp.add_argument("name", metavar="NAME")
    sp = sub.add_parser("status", help="nodes, interfaces, addresses, services")
    sp.add_argument("name", metavar="NAME", nargs="?")
    sub.add_parser("list", help="the running labs and the shipped ones")
    sp = sub.add_parser("exec", help="run a command in a node: lab exec NODE -- CMD ...")
    sp.add_argument("node", metavar="NODE", help="LAB:NODE, NODE, or the namespace sl-LAB-NODE")
    sp.add_argument("argv", metavar="CMD", nargs=argparse.REMAINDER)
    sp = sub.add_parser("shell", help="an interactive shell in a node")
    sp.add_argument("node", metavar="NODE")
    sp = sub.add_parser("check", help="run an exercise's checks (every exercise without one)")
    sp.add_argument("name", metavar="NAME")
    sp.add_argument("exercise", metavar="EXERCISE", nargs="?")
    sp.add_argument("--lang", choices=("en", "fr"), default="en", help="titles' language")
    sp = sub.add_parser("draw", help="the topology as a terminal diagram (--svg: a picture)")
    sp.add_argument("name", metavar="NAME|FILE")
    sp.add_argument("--svg", metavar="FILE",
                    help="write an SVG picture to FILE (- : alone on standard output)")
    sp = sub.add_parser("export", help="the topology for another engine (containerlab)")
    sp.add_argument("name", metavar="NAME|FILE")
    sp.add_argument("--containerlab", action="store_true", required=True,
                    help="a containerlab topology (YAML) on stdout")
    for s in sub.choices.values():
        _global_options(s, suppress=True)


def _topology(spec: str) -> Lab:
    """A running lab's topology, else a file's or a shipped lab's."""
    from socklab.lab import build

    if "/" not in spec and not spec.endswith(".toml") and build.read_state(spec) is not None:
        return build.lab_of_state(spec)
    return build.load(spec)[0]


def _node(spec: str) -> tuple[str, str]:
    """``(namespace, label)`` of a node named LAB:NODE, NODE or sl-LAB-NODE."""
    from socklab.lab import build
    from socklab.lab.topology import PREFIX

    candidates = []
    for name in build.running():
        try:
            lab = build.lab_of_state(name)
        except (BadInput, NotFound):
            continue
        for node in lab.nodes:
            ns = lab.namespace(node)
            if spec in (f"{name}:{node}", ns) or (":" not in spec and spec == node):
                candidates.append((ns, f"{name}:{node}"))
    if not candidates:
        raise NotFound(f"lab node {spec!r}: no such node in a running lab (LAB:NODE, or "
                       f"{PREFIX}LAB-NODE; 'socklab lab status' lists them)")
    if len(candidates) > 1:
        raise BadInput(f"lab node {spec!r}: in several labs ("
                       f"{', '.join(c[1] for c in candidates)}): say LAB:NODE")
    return candidates[0]


def run(args: argparse.Namespace) -> int:
    what = args.what
    if what == "list":
        return _list(args)
    if what == "draw":
        from socklab.lab import draw

        lab = _topology(args.name)
        if args.svg:
            from socklab.userfiles import STDOUT, write_whole

            write_whole(args.svg, draw.svg(lab).encode())
            if args.svg == STDOUT:  # the picture alone on standard output
                return 0
        sys.stdout.write(draw.text(lab))
        return 0
    if what == "export":
        from socklab.lab import export

        sys.stdout.write(export.containerlab(_topology(args.name)))
        return 0
    if what == "exec":
        return _exec(args)
    if what == "shell":
        return _shell(args)
    from socklab.lab import build

    if what == "up":
        lab, origin = build.load(args.lab)
        build.up(lab, origin, force=args.force)
        if args.json:
            print(json.dumps({"lab": lab.name, "namespaces": lab.namespaces()}))
        else:
            print(f"lab {lab.name} is up: {len(lab.nodes)} nodes, {len(lab.links)} links, "
                  f"{len(lab.switches)} switches ('socklab lab status {lab.name}')")
        return 0
    if what == "down":
        removed = build.down(args.name)
        if args.json:
            print(json.dumps({"lab": args.name, "removed": removed}))
        else:
            print(f"lab {args.name} is down: {len(removed)} namespaces removed")
        return 0
    if what == "status":
        return _status(args)
    return _check(args)


def _list(args: argparse.Namespace) -> int:
    from socklab.lab import build, shipped
    from socklab.lab.topology import parse

    up = build.running()
    rows = []
    for name in shipped.names():
        lab = parse(shipped.text(name), f"{name}.toml")
        rows.append({"name": name, "shipped": True, "up": name in up,
                     "title": lab.title.get("en", "")})
    for name in up:
        if name not in shipped.names():
            rows.append({"name": name, "shipped": False, "up": True, "title": ""})
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        state = "up" if r["up"] else "-"
        print(f"{r['name']:<10} {state:<3} {'shipped' if r['shipped'] else 'file':<8} "
              f"{r['title']}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from socklab.lab import build
    from socklab.stack import read

    names = [args.name] if args.name else build.running()
    out = []
    for name in names:
        lab = build.lab_of_state(name)
        state = build.read_state(name) or {}
        nodes = []
        for node in lab.nodes.values():
            ns = lab.namespace(node.name)
            addrs: dict[str, list[str]] = {}
            try:
                links = {lk.name: lk for lk in read.links(netns=ns, source="netlink")}
                for a in read.addresses(netns=ns, source="netlink"):
                    if a.scope != "link":
                        addrs.setdefault(a.ifname, []).append(f"{a.local}/{a.prefixlen}")
            except NotFound:  # a lab whose 'up' was killed: its node was never made
                links = {}
            nodes.append({"node": node.name, "kind": node.kind, "namespace": ns,
                          "interfaces": [{"name": d, "up": "UP" in links[d].flags
                                          if d in links else False,
                                          "addresses": addrs.get(d, [])}
                                         for d in node.interfaces],
                          "services": [s.endpoint for s in node.services]})
        out.append({"lab": name, "phase": state.get("phase"), "nodes": nodes,
                    "links": [f"{lk.a[0]}:{lk.a[1]} - {lk.b[0]}:{lk.b[1]}" for lk in lab.links],
                    "switches": {s.name: [f"{n}:{d}" for n, d in s.ports]
                                 for s in lab.switches.values()},
                    "services_running": state.get("pids", [])})
    if args.json:
        print(json.dumps(out))
        return 0
    if not out:
        print("no lab is up ('socklab lab list' shows the shipped ones)")
    for lab_out in out:
        print(f"lab {lab_out['lab']} ({lab_out['phase']})")
        for n in lab_out["nodes"]:
            print(f"  {n['node']} ({n['kind']}, namespace {n['namespace']})")
            for i in n["interfaces"]:
                print(f"    {i['name']:<10} {'up' if i['up'] else 'down':<5} "
                      f"{' '.join(i['addresses'])}")
            for s in n["services"]:
                print(f"    service {s}")
        for lk in lab_out["links"]:
            print(f"  link {lk}")
        for sw, ports in lab_out["switches"].items():
            print(f"  switch {sw}: {' '.join(ports)}")
    return 0


def _exec(args: argparse.Namespace) -> int:
    from socklab.lab.build import run_in_node

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise BadInput("lab exec: no command (lab exec NODE -- CMD ...)")
    ns, _ = _node(args.node)
    from socklab.lab.build import socklab_argv

    code, _out = run_in_node(ns, socklab_argv(argv), interactive=True)
    return code


def _shell(args: argparse.Namespace) -> int:
    import os
    import shutil

    from socklab.lab.build import run_in_node

    ns, label = _node(args.node)
    shell = shutil.which("bash") or "/bin/sh"
    env = dict(os.environ, PS1=f"[{label}] \\w# " if os.geteuid() == 0 else f"[{label}] $ ")
    argv = [shell, "--norc", "--noprofile", "-i"] if shell.endswith("bash") else [shell, "-i"]
    code, _out = run_in_node(ns, argv, interactive=True, env=env)
    return code


def _check(args: argparse.Namespace) -> int:
    from socklab.lab import build, checks

    lab = build.lab_of_state(args.name)
    names = [args.exercise] if args.exercise else list(lab.exercises)
    for n in names:
        if n not in lab.exercises:
            raise NotFound(f"lab {args.name}: no exercise {n!r} (exercises: "
                           f"{', '.join(lab.exercises) or 'none'})")
    done = [(n, checks.run_exercise(lab, n)) for n in names]
    ok = all(r.passed for _, results in done for r in results)

    def title(n: str) -> str:
        t = lab.exercises[n].title
        return t.get(args.lang, t.get("en", ""))

    if args.json:
        print(json.dumps({"lab": args.name, "passed": ok, "exercises": [
            {"exercise": n, "title": title(n), "passed": all(r.passed for r in results),
             "checks": [r._asdict() for r in results]} for n, results in done]}))
        return 0 if ok else 1
    for n, results in done:
        print(f"{n}: {title(n)}")
        for r in results:
            mark = "pass" if r.passed else "FAIL"
            print(f"  {mark}  {r.check}: expected {r.expect}, {r.reason}")
    print("all checks pass" if ok else "some checks fail")
    return 0 if ok else 1
