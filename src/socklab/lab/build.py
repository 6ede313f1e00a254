"""A lab built and torn down: namespaces, veth pairs, bridges, addresses, routes,
filters, IPsec, services; and the state file that says what was made.

Rules:

1. The host is never changed. Every device is created straight in the namespace
   it belongs to (``RTM_NEWLINK`` with ``IFLA_NET_NS_FD`` on both ends of a veth,
   rtnetlink(7)), so no name is ever taken in the host's namespace, even for an
   instant.
2. The state file (``/run/socklab/labs/LAB.json``) is written *before* anything
   is made, naming every namespace the lab will make; ``down`` removes those that
   exist, kills every process living in them, and removes the file. A lab whose
   ``up`` was killed half-way is thus removed whole by ``down``. Removing a
   namespace removes its devices (and a veth's peer with them: namespaces(7)).
3. ``up`` refuses a lab whose namespaces exist already and that has no state file
   of its own: what it would remove on failure is only ever what it made.
4. A failed ``up`` is rolled back (``down``) and the error names the entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any

from socklab.errors import (
    BadInput,
    Malformed,
    MissingPrivilege,
    NetworkError,
    NotFound,
    SocklabError,
)
from socklab.kernel.labns import run as run_in_node  # lab exec, lab shell
from socklab.lab.topology import Lab, Node, parse

__all__ = ["check_privilege", "down", "lab_of_state", "load", "read_state", "run_in_node",
           "running", "socklab_argv", "solve", "up"]

IFLA_NET_NS_FD = 28  # <linux/if_link.h>
ROUTER_SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}
# no duplicate address detection in a lab: an IPv6 address is usable at once (RFC 4862
# 5.4 makes it tentative for a second otherwise); set before the devices are made
# ("default" applies to devices created afterwards: ip-sysctl.txt)
NODE_SYSCTLS = {"net.ipv6.conf.default.accept_dad": "0", "net.ipv6.conf.all.accept_dad": "0"}


def check_privilege() -> None:
    """MissingPrivilege naming both capabilities unless the process holds them."""
    from socklab.kernel import caps

    missing = [c for c in ("CAP_NET_ADMIN", "CAP_SYS_ADMIN") if not caps.has(c)]
    if missing:
        raise MissingPrivilege("lab: make network namespaces, devices and mounts",
                               " and ".join(missing) if len(missing) == 1 else
                               "CAP_NET_ADMIN and CAP_SYS_ADMIN", "run as root")


def read_state(name: str) -> dict[str, Any] | None:
    """The state of a running lab, or None when there is none."""
    from socklab.kernel import labns

    raw = labns.read_state(name)
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        raise Malformed(f"lab {name}: state file {labns.STATE_DIR}/{name}.json is not "
                        f"JSON") from None
    if not isinstance(state, dict) or not isinstance(state.get("namespaces"), list):
        raise Malformed(f"lab {name}: state file has no list of namespaces")
    return state


def _state(lab: Lab, origin: str, pids: list[int], phase: str) -> bytes:
    return json.dumps({"name": lab.name, "origin": origin, "phase": phase,
                       "namespaces": lab.namespaces(), "pids": pids,
                       "source": lab.source}).encode()


def _write_state(lab: Lab, origin: str, pids: list[int], phase: str) -> None:
    from socklab.kernel import labns

    labns.write_state(lab.name, _state(lab, origin, pids, phase))


def running() -> list[str]:
    from socklab.kernel import labns

    return labns.labs()


def _entry(what: str, step: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
    """Run one step of ``up``; a failure names the entry it was building."""
    try:
        step(*args, **kwargs)
    except MissingPrivilege:
        raise
    except NetworkError as exc:
        raise NetworkError(f"lab up: {what}", exc.errno, str(exc)) from exc
    except SocklabError as exc:
        raise BadInput(f"lab up: {what}: {exc}") from exc


def up(lab: Lab, origin: str = "", force: bool = False) -> None:
    """Build the lab (rules 1-4)."""
    from socklab.kernel import labns

    check_privilege()
    if read_state(lab.name) is not None:
        if not force:
            raise BadInput(f"lab {lab.name} is up already (state file {labns.STATE_DIR}/"
                           f"{lab.name}.json); 'socklab lab down {lab.name}' first, or "
                           f"'lab up --force' to build it again")
        down(lab.name)
    from socklab.kernel import netns as knetns

    if not labns.claim_state(lab.name, _state(lab, origin, [], "building")):
        raise BadInput(f"lab {lab.name} is being built by another 'lab up' (state file "
                       f"{labns.STATE_DIR}/{lab.name}.json)")
    taken = [ns for ns in lab.namespaces() if ns in knetns.named()]
    if taken:
        labns.remove_state(lab.name)
        raise BadInput(f"lab up {lab.name}: namespace {taken[0]} exists already and is not "
                       f"this lab's (no state file): remove it or rename the lab")
    try:
        pids = _build(lab)
        _write_state(lab, origin, pids, "up")
    except BaseException:
        with contextlib.suppress(SocklabError):
            down(lab.name)
        raise


@contextlib.contextmanager
def _ns_fds(lab: Lab) -> Iterator[dict[str | None, int]]:
    from socklab.kernel import netns as knetns

    fds: dict[str | None, int] = {}
    try:
        for node in [None, *lab.nodes]:
            ns = lab.namespace(node)
            fds[node] = knetns.open_path(knetns.path(ns), ns)
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def _veth(lab: Lab, a: tuple[str | None, str], b: tuple[str | None, str], mtu: int | None,
          fds: dict[str | None, int]) -> None:
    """One veth pair, each end made in its own namespace (rule 1)."""
    from socklab.kernel import netlink
    from socklab.stack import change, rtnl
    from socklab.stack import rtnl_requests as rq

    peer = rq.link_msg(0, name=b[1], mtu=mtu) + netlink.attr(IFLA_NET_NS_FD,
                                                             struct.pack("=I", fds[b[0]]))
    payload = rq.link_msg(0, name=a[1], mtu=mtu, kind="veth",
                          info_data=netlink.attr(rq.VETH_INFO_PEER, peer))
    payload += netlink.attr(IFLA_NET_NS_FD, struct.pack("=I", fds[a[0]]))
    op = f"add link {a[1]} type veth peer name {b[1]}"
    change.apply(change.Change(op, f"ip link add {op[9:]}", None,
                               (rq.Request(rtnl.RTM_NEWLINK, change.NEW, payload),)),
                 netns=lab.namespace())


def _tbf(ns: str, dev: str, rate: str) -> None:
    from socklab.kernel import labns

    # tc-tbf(8): burst must hold at least one packet per timer tick; 32 kbit is plenty
    # for the rates of a lab, and a 400 ms latency bounds the queue
    argv = ["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate,
            "burst", "32kbit", "latency", "400ms"]
    code, out = labns.run(ns, argv, timeout=10.0)
    if code != 0:
        raise NetworkError(" ".join(argv), None, out.strip().splitlines()[0] if out.strip()
                           else f"exit status {code}")


def _sysctl(ns: str, key: str, value: str) -> None:
    from socklab.kernel import netns as knetns
    from socklab.stack import sysctl

    knetns.run_in(ns, sysctl.write, key, value)


def _build(lab: Lab) -> list[int]:
    from socklab.kernel import labns
    from socklab.stack import change

    for ns in lab.namespaces():
        _entry(f"namespace {ns}", labns.create, ns)
    for node in lab.nodes.values():
        ns = lab.namespace(node.name)
        wanted = {**NODE_SYSCTLS, **(ROUTER_SYSCTLS if node.kind == "router" else {})}
        for key, value in wanted.items():
            _entry(f"node {node.name}: sysctl {key}={value}", _sysctl, ns, key, value)
    own = lab.namespace()
    with _ns_fds(lab) as fds:
        for link in lab.links:
            label = f"link {link.a[0]}:{link.a[1]} - {link.b[0]}:{link.b[1]}"
            _entry(label, _veth, lab, link.a, link.b, link.mtu, fds)
        with change.session(netns=own):
            for sw in lab.switches.values():
                _entry(f"switch {sw.name}", change.link_add, sw.name, "bridge", netns=own)
                for j, (name, dev) in enumerate(sw.ports):
                    port = f"{sw.name}p{j}"
                    _entry(f"switch {sw.name}: port {name}:{dev}", _veth, lab, (name, dev),
                           (None, port), sw.mtu, fds)
                    _entry(f"switch {sw.name}: port {port}", change.link_set, port,
                           master=sw.name, up=True, netns=own)
                _entry(f"switch {sw.name}", change.link_set, sw.name, up=True, netns=own)
    for node in lab.nodes.values():
        _node(lab, node)
    for link in lab.links:
        if link.rate:
            for name, dev in (link.a, link.b):
                _entry(f"link {name}:{dev}: rate {link.rate}", _tbf, lab.namespace(name), dev,
                       link.rate)
    for sw in lab.switches.values():
        if sw.rate:
            for name, dev in sw.ports:
                _entry(f"switch {sw.name}: port {name}:{dev}: rate {sw.rate}", _tbf,
                       lab.namespace(name), dev, sw.rate)
    pids: list[int] = []
    for node in lab.nodes.values():
        for svc in node.services:
            _entry(f"node {node.name}: service {svc.endpoint}", _service,
                   lab.namespace(node.name), svc, pids)
    return pids


def _service(ns: str, svc: Any, pids: list[int]) -> None:
    """Start ``socklab listen`` in the node, record its pid, wait until it listens."""
    from socklab.kernel import labns

    argv = [sys.executable, "-m", "socklab", "listen", svc.endpoint, f"--{svc.mode}",
            "--keep-open", "-q"]
    pid = labns.spawn(ns, argv)
    pids.append(pid)
    _wait_listening(ns, svc.endpoint, pid)


READY_TRIES = 200  # x 10 ms: how long a service may take to listen
READY_PAUSE = 0.01


def _wait_listening(ns: str, endpoint: str, pid: int) -> None:
    """Wait (bounded) until the service started in ``ns`` listens; an error when it
    exited instead (the port taken, an address the node does not have)."""
    import time

    from socklab.kernel import labns
    from socklab.socktable import table
    from socklab.talk import endpoint as ep

    want = ep.parse(endpoint)
    kind = "udp" if want.scheme.startswith("udp") else "tcp"
    for _ in range(READY_TRIES):
        if not labns.alive(pid):
            raise NetworkError(f"listen {endpoint}", None, "the service exited at once "
                               "(the address is not the node's, or the port is taken)")
        found = table.sockets(kind, listening=kind == "tcp", sport=want.port, netns_name=ns)
        if any(True for _ in found):
            return
        time.sleep(READY_PAUSE)
    raise NetworkError(f"listen {endpoint}", None, "not listening after 2 s")


def _node(lab: Lab, node: Node) -> None:
    from socklab.filter import rules as frules
    from socklab.stack import change

    ns = lab.namespace(node.name)
    name = node.name
    with change.session(netns=ns):
        _entry(f"node {name}: lo up", change.link_set, "lo", up=True, netns=ns)
        for iface in node.interfaces.values():
            dev = iface.name
            _entry(f"node {name}: interface {dev} up", change.link_set, dev, up=True, netns=ns)
            for addr in iface.addresses:
                _entry(f"node {name}: address {addr} dev {dev}", change.addr_add, addr, dev,
                       netns=ns)
            for label, addr in iface.aliases:
                _entry(f"node {name}: alias {label} {addr}", change.addr_add, addr, dev,
                       label=label, netns=ns)
        for key, value in node.sysctls.items():
            _entry(f"node {name}: sysctl {key}={value}", _sysctl, ns, key, value)
        for r in node.routes:
            to = "default" if r.to.startswith("default") else r.to
            fam = "inet6" if r.to == "default6" else None
            _entry(f"node {name}: route {r.to}" + (f" via {r.via}" if r.via else ""),
                   change.route_add, to, via=r.via, dev=r.dev, family=fam, netns=ns)
        for addr, mac, dev in node.neighbours:
            _entry(f"node {name}: neighbour {addr} lladdr {mac} dev {dev}",
                   change.neigh_replace, addr, dev=dev, lladdr=mac, netns=ns)
    for dev in node.nat:
        _entry(f"node {name}: nat on {dev}", _masquerade, ns, dev)
    for spec in node.rules:
        _entry(f"node {name}: filter {frules.rule_text(spec)}", frules.add, spec, ns)
    if node.esp or node.policies:
        from socklab.ipsec import manual

        for pol in node.policies:
            _entry(f"node {name}: ipsec policy {pol.dir} {pol.selector.src} -> "
                   f"{pol.selector.dst} {pol.action}", manual.add_policy, pol, ns)
        for pair in node.esp:
            # a kernel without ESP refuses the first SA: the error names the missing
            # modules with the kernel's own words, and up removes the whole lab
            _entry(f"node {name}: ipsec esp {pair.local} <-> {pair.remote}", manual.add,
                   pair, ns)


def _masquerade(ns: str, dev: str) -> None:
    """nft(8): a nat table with a postrouting chain masquerading what leaves ``dev``
    (the name was checked by the topology: letters, digits, '_', '-', '.')."""
    from socklab.kernel import netns as knetns
    from socklab.kernel import nftables

    with knetns.entered(ns):
        nftables.run("add table ip socklab_nat; "
                     "add chain ip socklab_nat postrouting { type nat hook postrouting "
                     "priority srcnat; policy accept; }; "
                     f'add rule ip socklab_nat postrouting oifname "{dev}" masquerade')


def down(name: str) -> list[str]:
    """Remove what the state file of lab ``name`` says was made (rule 2); returns the
    namespaces removed. NotFound when no lab of that name is up."""
    from socklab.kernel import labns

    check_privilege()
    state = read_state(name)
    if state is None:
        raise NotFound(f"lab {name}: not up (no state file {labns.STATE_DIR}/{name}.json)")
    namespaces = [ns for ns in state["namespaces"] if isinstance(ns, str)
                  and (ns == f"sl-{name}" or ns.startswith(f"sl-{name}-"))]
    pids = [p for p in state.get("pids", []) if isinstance(p, int) and p > 1]
    for ns in namespaces:
        pids += labns.pids_in(ns)
    for pid in sorted(set(pids)):
        if pid != os.getpid():
            labns.kill(pid)
    removed = []
    for ns in reversed(namespaces):  # the nodes first, the lab's own (the bridges) last
        if labns.delete(ns):
            removed.append(ns)
    labns.remove_state(name)
    return removed


def load(spec: str) -> tuple[Lab, str]:
    """A lab from a file path or a shipped lab's name: ``(lab, origin)``."""
    from socklab.lab import shipped

    if "/" in spec or spec.endswith(".toml"):
        from socklab.kernel import labns

        data = labns.read_file(spec)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise BadInput(f"{spec}: not UTF-8 text") from None
        return parse(text, spec), os.path.abspath(spec)
    text = shipped.text(spec)
    return parse(text, f"{spec}.toml"), f"shipped:{spec}"


def lab_of_state(name: str) -> Lab:
    """The topology of a running lab, from its state file."""
    state = read_state(name)
    if state is None:
        raise NotFound(f"lab {name}: not up ('socklab lab list' shows the running labs)")
    source = state.get("source")
    if not isinstance(source, str):
        raise Malformed(f"lab {name}: state file holds no topology")
    return parse(source, f"{name} (state file)")


def socklab_argv(argv: list[str]) -> list[str]:
    """``socklab ...`` runs this socklab (the one running now, installed or not)."""
    return [sys.executable, "-m", "socklab", *argv[1:]] if argv[:1] == ["socklab"] else argv


def solve(lab: Lab, exercise: str) -> list[tuple[str, int, str]]:
    """Run an exercise's solution steps in their nodes: ``(node, status, output)`` each."""
    from socklab.kernel import labns

    if exercise not in lab.exercises:
        raise NotFound(f"lab {lab.name}: no exercise {exercise!r}")
    return [(node, *labns.run(lab.namespace(node), socklab_argv(argv)))
            for node, argv in lab.exercises[exercise].solution]
