"""A lab as a containerlab topology (YAML, written by hand: no dependency). Pure.

containerlab gives each container a management interface ``eth0``, so a node's
data interfaces become ``eth1``, ``eth2``... in the order of the node's
interfaces (the mapping is written as a comment), and everything socklab does
in a namespace becomes an ``exec`` command of the node: addresses, routes,
neighbours, sysctls, NAT and filter rules, IPsec policies and SAs. A switch becomes a linux node
holding a bridge, as in the lab.
"""

from __future__ import annotations

import json

from socklab.lab.topology import Lab

__all__ = ["IMAGE", "containerlab"]

# an image with ip, tc, nft and sysctl (containerlab's own examples use it)
IMAGE = "nicolaka/netshoot:latest"


def _q(text: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML (YAML 1.2)."""
    return json.dumps(text)


def mapping(lab: Lab) -> dict[tuple[str, str], str]:
    """``(node, interface) -> ethN`` in the exported file."""
    out: dict[tuple[str, str], str] = {}
    for node in lab.nodes.values():
        for i, dev in enumerate(node.interfaces, 1):
            out[(node.name, dev)] = f"eth{i}"
    for sw in lab.switches.values():
        for j, (n, d) in enumerate(sw.ports, 1):
            out[(f"sw-{sw.name}", f"{n}:{d}")] = f"eth{j}"
    return out


def _commands(lab: Lab, name: str, names: dict[tuple[str, str], str]) -> list[str]:
    from socklab.filter import rules as frules

    node = lab.nodes[name]
    cmds = []
    if node.kind == "router":
        cmds += ["sysctl -w net.ipv4.ip_forward=1", "sysctl -w net.ipv6.conf.all.forwarding=1"]
    cmds += [f"sysctl -w {k}={v}" for k, v in node.sysctls.items()]
    for link in lab.links:
        for n, d in (link.a, link.b):
            if n == name and link.mtu:
                cmds.append(f"ip link set {names[(n, d)]} mtu {link.mtu}")
            if n == name and link.rate:
                cmds.append(f"tc qdisc replace dev {names[(n, d)]} root tbf rate {link.rate} "
                            f"burst 32kbit latency 400ms")
    for iface in node.interfaces.values():
        dev = names[(name, iface.name)]
        cmds += [f"ip addr add {a} dev {dev}" for a in iface.addresses]
        cmds += [f"ip addr add {a} dev {dev} label {dev}{label[len(iface.name):]}"
                 for label, a in iface.aliases]
    for r in node.routes:
        to = "default" if r.to.startswith("default") else r.to
        six = "-6 " if r.to == "default6" else ""
        cmd = f"ip {six}route add {to}"
        cmd += f" via {r.via}" if r.via else ""
        cmd += f" dev {names[(name, r.dev)]}" if r.dev else ""
        cmds.append(cmd)
    for addr, mac, dev in node.neighbours:
        cmds.append(f"ip neigh replace {addr} lladdr {mac} dev {names[(name, dev)]} "
                    f"nud permanent")
    for dev in node.nat:
        cmds += ["nft add table ip socklab_nat",
                 "nft 'add chain ip socklab_nat postrouting { type nat hook postrouting "
                 "priority srcnat; policy accept; }'",
                 f"nft add rule ip socklab_nat postrouting oifname {names[(name, dev)]} "
                 f"masquerade"]
    for spec in node.rules:
        for line in frules.nft_commands(spec):
            for (n, d), eth in names.items():
                if n == name:
                    line = line.replace(f'"{d}"', f'"{eth}"')
            cmds.append(f"nft '{line}'")
    if node.esp or node.policies:
        from socklab.ipsec import manual

        cmds += [manual.policy_line(pol) for pol in node.policies]
        for pair in node.esp:  # the lab's own keys: they are in its topology file too
            cmds += [line for line in manual.explain(pair, show_keys=True)
                     if not line.startswith("#")]
    return cmds


def containerlab(lab: Lab) -> str:
    """The containerlab topology file (``name``, ``topology.nodes``, ``topology.links``)."""
    names = mapping(lab)
    out = [f"# containerlab topology of socklab lab {lab.name}",
           f"# {lab.title.get('en', '')}".rstrip(),
           "# interfaces: eth0 is containerlab's management interface, so:"]
    out += [f"#   {n}:{d} -> {n}:{eth}" for (n, d), eth in names.items()
            if not n.startswith("sw-")]
    out += [f"name: {_q(lab.name)}", "topology:", "  nodes:"]
    for name in lab.nodes:
        out += [f"    {name}:", "      kind: linux", f"      image: {_q(IMAGE)}"]
        cmds = _commands(lab, name, names)
        if cmds:
            out.append("      exec:")
            out += [f"        - {_q(c)}" for c in cmds]
    for sw in lab.switches.values():
        node = f"sw-{sw.name}"
        cmds = ["ip link add br0 type bridge", "ip link set br0 up"]
        for j in range(1, len(sw.ports) + 1):
            cmds += [f"ip link set eth{j} master br0", f"ip link set eth{j} up"]
        out += [f"    {node}:", "      kind: linux", f"      image: {_q(IMAGE)}",
                "      exec:"]
        out += [f"        - {_q(c)}" for c in cmds]
    if lab.links or lab.switches:  # containerlab wants at least one link when there are links
        out.append("  links:")
    for link in lab.links:
        a = f"{link.a[0]}:{names[link.a]}"
        b = f"{link.b[0]}:{names[link.b]}"
        out.append(f"    - endpoints: [{_q(a)}, {_q(b)}]")
    for sw in lab.switches.values():
        for j, (n, d) in enumerate(sw.ports, 1):
            out.append(f"    - endpoints: [{_q(f'{n}:{names[(n, d)]}')}, "
                       f"{_q(f'sw-{sw.name}:eth{j}')}]")
    return "\n".join(out) + "\n"
