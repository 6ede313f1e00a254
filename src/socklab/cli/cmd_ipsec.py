"""IPsec (course 1.3.2): the kernel's security policies and security associations (xfrm).

A policy says which packets must be protected (or blocked) and how; an SA
holds the keys and algorithms that protect them. Keys are never shown unless
--show-keys. Needs CAP_NET_ADMIN (the kernel answers xfrm requests only then).

examples:
  socklab ipsec                    policies and SAs
  socklab ipsec policy --json
  socklab ipsec state --show-keys
  socklab --netns lab1 ipsec

classic: ip xfrm policy; ip xfrm state; setkey -D -P; setkey -D
"""

from __future__ import annotations

import argparse

from socklab.ipsec.model import SA, Lifetime, Policy, Selector

NO_LIMIT = (1 << 64) - 1
IP_PROTOS = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=("policy", "state"),
                   help="only the policies (SPD) or only the SAs (SAD)")
    p.add_argument("--show-keys", action="store_true",
                   help="print the SAs' keys too (secrets: mind who reads the screen)")


def _selector(s: Selector) -> str:
    out = f"{s.src} -> {s.dst}"
    if s.proto:
        out += f" proto {IP_PROTOS.get(s.proto, str(s.proto))}"
    if s.sport_mask:
        out += f" sport {s.sport}"
    if s.dport_mask:
        out += f" dport {s.dport}"
    if s.ifindex:
        out += f" ifindex {s.ifindex}"
    return out


def _limits(lft: Lifetime) -> str:
    parts = []
    for label, value in (("bytes", lft.hard_bytes), ("packets", lft.hard_packets),
                         ("seconds after add", lft.hard_add_seconds),
                         ("seconds after use", lft.hard_use_seconds)):
        if value and value != NO_LIMIT:
            parts.append(f"{value} {label}")
    return "hard limits: " + ", ".join(parts) if parts else ""


def policy_lines(p: Policy) -> list[str]:
    head = (f"{p.dir:<3}  {_selector(p.selector)}  priority {p.priority}  {p.action}  "
            f"index {p.policy_index}")
    if p.mark:
        head += f"  mark 0x{p.mark[0]:x}/0x{p.mark[1]:x}"
    out = [head]
    for t in p.templates:
        ends = f" {t.src} -> {t.dst}" if t.mode == "tunnel" or t.dst not in ("0.0.0.0", "::") \
            else ""
        spi = f" spi 0x{t.spi:08x}" if t.spi else ""
        out.append(f"     needs {t.proto} {t.mode}{ends}{spi} reqid {t.reqid} "
                   f"({'optional: level use' if t.optional else 'required'})")
    limits = _limits(p.lifetime)
    if limits:
        out.append(f"     {limits}")
    return out


def sa_lines(sa: SA) -> list[str]:
    out = [f"{sa.proto} spi 0x{sa.spi:08x} {sa.mode} {sa.src} -> {sa.dst}  reqid {sa.reqid}  "
           f"replay-window {sa.replay_window}"]
    for alg in sa.algorithms:
        extra = ""
        if alg.extra_bits is not None:
            extra = f", {alg.extra_bits}-bit {'ICV' if alg.kind == 'aead' else 'truncation'}"
        key = f", key 0x{alg.key.hex()}" if alg.key is not None else ""
        out.append(f"     {alg.kind} {alg.name} ({alg.key_bits}-bit key{extra}){key}")
    out.append(f"     used: {sa.current.bytes} bytes, {sa.current.packets} packets; "
               f"replay errors {sa.stats.replay}, integrity failures "
               f"{sa.stats.integrity_failed}")
    if sa.selector.src != "0.0.0.0/0" or sa.selector.dst != "0.0.0.0/0":
        out.append(f"     for {_selector(sa.selector)}")
    limits = _limits(sa.lifetime)
    if limits:
        out.append(f"     {limits}")
    return out


NO_POLICY = ("no security policy: every packet goes in and out as it is; a policy "
             "would name the packets (selector) that must be protected by ESP or AH")
NO_SA = ("no security association: nothing can be protected yet; an SA holds the SPI, "
         "algorithms and keys a policy's packets would use (made by IKE or by hand)")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.ipsec import read

    policies = read.ipsec_policies() if args.what != "state" else None
    states = read.ipsec_states(show_keys=args.show_keys) if args.what != "policy" else None
    if args.json:
        doc: dict[str, object] = {}
        if policies is not None:
            doc["policies"] = policies
        if states is not None:
            doc["states"] = states
        render.write_json(doc)
        return 0
    if policies is not None:
        print(f"policies: {len(policies)}")
        if not policies:
            print(f"  ({NO_POLICY})")
        for p in policies:
            print("\n".join("  " + line for line in policy_lines(p)))
    if states is not None:
        print(f"security associations: {len(states)}")
        if not states:
            print(f"  ({NO_SA})")
        for sa in states:
            print("\n".join("  " + line for line in sa_lines(sa)))
    return 0
