"""IPsec (course 1.3.2): the kernel's security policies and security associations (xfrm).

A policy says which packets must be protected (or blocked) and how; an SA
holds the keys and algorithms that protect them. Keys are never shown unless
--show-keys. Needs CAP_NET_ADMIN (the kernel answers xfrm requests only then).

examples:
  socklab ipsec                    policies and SAs
  socklab ipsec policy --json
  socklab ipsec state --show-keys
  socklab --netns lab1 ipsec
  socklab ipsec add 10.0.0.1 10.0.0.2 --spi-out 0x1000 --spi-in 0x1001 \
      --enc-key 0x<32 hex digits> --auth-key 0x<64 hex digits> --explain
  socklab ipsec del 10.0.0.1 10.0.0.2 --spi-out 0x1000 --spi-in 0x1001

'add' keys one host's half of a transport-mode ESP pair by hand (two SAs, two
policies); the other host runs it with the addresses and SPIs swapped. Keys
typed on a command line are seen by every user (ps): lab keys only. Kernels
without ESP (no esp4/esp6 module) refuse the SAs, and nothing is left behind.

classic: ip xfrm policy; ip xfrm state; setkey -D -P; setkey -D; ip xfrm state add ...
"""

from __future__ import annotations

import argparse

from socklab.ipsec.model import SA, Lifetime, Policy, Selector

NO_LIMIT = (1 << 64) - 1
IP_PROTOS = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from socklab.cli.parser import Parser, _global_options

    p.add_argument("--show-keys", action="store_true",
                   help="print the SAs' keys too (secrets: mind who reads the screen)")
    sub = p.add_subparsers(dest="what", metavar="WHAT", parser_class=Parser)
    sub.add_parser("policy", help="only the security policies (SPD)")
    sub.add_parser("state", help="only the security associations (SAD)")
    add = sub.add_parser("add", help="key a transport-mode ESP pair by hand (labs)")
    dele = sub.add_parser("del", help="delete a pair made by 'add'")
    for sp in (add, dele):
        sp.add_argument("local", help="this host's address")
        sp.add_argument("remote", help="the peer's address")
        sp.add_argument("--spi-out", required=True, metavar="SPI", help="SPI of local -> remote")
        sp.add_argument("--spi-in", required=True, metavar="SPI", help="SPI of remote -> local")
        sp.add_argument("--reqid", type=int, default=1, help="ties policies to SAs (default 1)")
    add.add_argument("--enc-key", required=True, metavar="HEX",
                     help="cbc(aes) key: 128, 192 or 256 bits")
    add.add_argument("--auth-key", required=True, metavar="HEX",
                     help="hmac(sha256) key: 256 bits")
    add.add_argument("--explain", action="store_true",
                     help="show the ip xfrm lines that do the same (keys hidden unless "
                          "--show-keys)")
    add.add_argument("-n", "--dry-run", action="store_true", help="check and explain only")
    add.add_argument("--lang", choices=["en", "fr"],
                     help="language of --explain's comments (default: from the locale)")
    add.add_argument("--show-keys", action="store_true", default=argparse.SUPPRESS,
                     help="keys in the explained lines")
    for sp in sub.choices.values():
        _global_options(sp, suppress=True)


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


def _manual(args: argparse.Namespace) -> int:
    from socklab.ipsec import manual

    zero = ("00" * 16, "00" * 32)  # del names SAs by address and SPI: no key needed
    enc, auth = (args.enc_key, args.auth_key) if args.what == "add" else zero
    pair = manual.esp_pair(args.local, args.remote, args.spi_out, args.spi_in, enc, auth,
                           reqid=args.reqid)
    if args.what == "del":
        missing = manual.delete(pair, netns=args.netns)
        if len(missing) == 4:
            from socklab.errors import NotFound

            raise NotFound(f"ipsec del: no ESP pair {pair.local} <-> {pair.remote} with SPIs "
                           f"0x{pair.spi_out:08x}/0x{pair.spi_in:08x}")
        for what in missing:
            print(f"not there: {what}")
        print(f"deleted the ESP pair {pair.local} <-> {pair.remote} "
              f"({4 - len(missing)} of 4 objects)")
        return 0
    lines = manual.explain(pair, show_keys=args.show_keys)
    if not args.dry_run:
        manual.add(pair, netns=args.netns)
        print(f"added the ESP pair {pair.local} <-> {pair.remote}: SAs 0x{pair.spi_out:08x} "
              f"(out) and 0x{pair.spi_in:08x} (in), policies out and in, reqid {pair.reqid}")
    if args.explain or args.dry_run:
        from socklab.cli.explaintext import explainer

        print("\n".join(explainer(getattr(args, "lang", None)).lines(lines)))
    return 0


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.ipsec import read

    if args.what in ("add", "del"):
        return _manual(args)
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
