"""Filter expressions (pcap-filter(7)'s common words) compiled to classic BPF. Pure.

The words: ``host``, ``net`` (``ADDR/LEN``), ``port``, ``portrange`` (``LO-HI``),
``proto`` (a number), ``src``/``dst``, the protocols ``ip``, ``ip6``, ``arp``,
``tcp``, ``udp``, ``sctp``, ``icmp``, ``icmp6``, and ``and``/``or``/``not``
(``&&``, ``||``, ``!``) with parentheses. A bare value repeats the qualifiers
before it (``host 10.0.0.1 or 10.0.0.2``), as in pcap-filter(7).

Rules:

1. Each primitive means what libpcap's code generator makes it mean (gencode.c):
   ``host A`` matches IPv4 source/destination and ARP/RARP sender/target
   addresses; ``port P`` is TCP, UDP or SCTP over IPv4 (first fragments only) or
   over IPv6 (next header directly after the fixed header); ``tcp`` over IPv6
   also looks behind one fragment header. The test suite checks these against
   ``tcpdump -r FILE EXPR`` over the same capture.
2. The expression becomes a tree of tests, compiled with a true and a false
   target per node (short-circuit jumps, all forward, as the BPF checker wants);
   a kept packet returns ``snaplen``, a dropped one 0.
3. Where the link header is depends on the link type: Ethernet (ethertype at
   12, network header at 14), Linux cooked v1/v2 in a pcap file, or a SOCK_DGRAM
   packet socket (the kernel strips the link header: network header at 0, the
   ethertype read from the ``SKF_AD_PROTOCOL`` ancillary field).
4. Errors are :class:`BadInput` naming the position in the expression and what
   was expected there.

:func:`run` interprets a program in Python, as the kernel would (bpf(4),
``net/core/filter.c``): it filters pcap files read with ``-r`` and checks the
compiler in the tests.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from socklab.errors import BadInput

__all__ = ["COOKED_SOCKET", "Program", "compile_filter", "encode", "run"]

# opcodes (linux/filter.h, linux/bpf_common.h)
LD, LDX, ST, STX, ALU, JMP, RET, MISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
W, H, B = 0x00, 0x08, 0x10
IMM, ABS, IND, MEM, LEN, MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
K, X = 0x00, 0x08
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50,
                                                       0x60, 0x70, 0x80, 0x90, 0xA0)
JA, JEQ, JGT, JGE, JSET = 0x00, 0x10, 0x20, 0x30, 0x40
RET_A = 0x10
TAX, TXA = 0x00, 0x80
SKF_AD_OFF = 0xFFFFF000  # -4096: ancillary data (linux/filter.h)
SKF_AD_PROTOCOL = 0

COOKED_SOCKET = -1  # the "link type" of a SOCK_DGRAM packet socket (rule 3)
_INSN = struct.Struct("=HBBI")

Insn = tuple[int, int, int, int]  # code, jt, jf, k


@dataclass(frozen=True, slots=True)
class _Link:
    ethertype: tuple[Insn, ...]  # loads A with the ethertype
    nl: int  # offset of the network header


_LINKS = {
    1: _Link(((LD | H | ABS, 0, 0, 12),), 14),
    113: _Link(((LD | H | ABS, 0, 0, 14),), 16),
    276: _Link(((LD | H | ABS, 0, 0, 0),), 20),
    COOKED_SOCKET: _Link(((LD | W | ABS, 0, 0, SKF_AD_OFF + SKF_AD_PROTOCOL),), 0),
}

ETH_IP, ETH_IP6, ETH_ARP, ETH_RARP = 0x0800, 0x86DD, 0x0806, 0x8035
P_ICMP, P_TCP, P_UDP, P_ICMP6, P_SCTP, P_FRAGMENT = 1, 6, 17, 58, 132, 44


# -- the tree of tests (rule 2) ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Test:
    loads: tuple[Insn, ...]  # leave the value in A
    op: int  # JEQ, JGT, JGE, JSET
    k: int


@dataclass(frozen=True, slots=True)
class _And:
    a: _Node
    b: _Node


@dataclass(frozen=True, slots=True)
class _Or:
    a: _Node
    b: _Node


@dataclass(frozen=True, slots=True)
class _Not:
    a: _Node


_Node = _Test | _And | _Or | _Not


def _all(*nodes: _Node) -> _Node:
    out = nodes[0]
    for n in nodes[1:]:
        out = _And(out, n)
    return out


def _any(*nodes: _Node) -> _Node:
    out = nodes[0]
    for n in nodes[1:]:
        out = _Or(out, n)
    return out


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled filter: the instructions and the expression they came from."""

    expression: str
    instructions: tuple[Insn, ...]

    def encode(self) -> bytes:
        return encode(self.instructions)


def encode(instructions: Sequence[Insn]) -> bytes:
    """The program as an array of ``struct sock_filter`` (native byte order)."""
    return b"".join(_INSN.pack(*i) for i in instructions)


# -- primitives (rule 1) ------------------------------------------------------------

class _Gen:
    def __init__(self, link: _Link) -> None:
        self.link = link
        self.nl = link.nl

    def ether(self, ethertype: int) -> _Node:
        return _Test(self.link.ethertype, JEQ, ethertype)

    def byte(self, offset: int, value: int) -> _Node:
        return _Test(((LD | B | ABS, 0, 0, self.nl + offset),), JEQ, value)

    def ip_proto(self, proto: int) -> _Node:
        return _And(self.ether(ETH_IP), self.byte(9, proto))

    def ip6_proto(self, proto: int) -> _Node:
        behind_fragment = _And(self.byte(6, P_FRAGMENT), self.byte(40, proto))
        return _And(self.ether(ETH_IP6), _Or(self.byte(6, proto), behind_fragment))

    def proto(self, name: str) -> _Node:
        number = {"tcp": P_TCP, "udp": P_UDP, "sctp": P_SCTP}.get(name)
        if number is not None:
            return _Or(self.ip_proto(number), self.ip6_proto(number))
        if name == "icmp":
            return self.ip_proto(P_ICMP)
        if name == "icmp6":
            return self.ip6_proto(P_ICMP6)
        return self.ether({"ip": ETH_IP, "ip6": ETH_IP6, "arp": ETH_ARP}[name])

    def _masked(self, offset: int, value: int, mask: int) -> _Node:
        loads: tuple[Insn, ...] = ((LD | W | ABS, 0, 0, self.nl + offset),)
        if mask != 0xFFFFFFFF:
            loads += ((ALU | AND | K, 0, 0, mask),)
        return _Test(loads, JEQ, value)

    def _dirs(self, direction: str, src: _Node, dst: _Node) -> _Node:
        return {"src": src, "dst": dst}.get(direction, _Or(src, dst))

    def host4(self, proto: str | None, direction: str, net: ipaddress.IPv4Network) -> _Node:
        addr, mask = int(net.network_address), int(net.netmask)
        parts: list[_Node] = []
        if proto in (None, "ip"):
            parts.append(_And(self.ether(ETH_IP), self._dirs(
                direction, self._masked(12, addr, mask), self._masked(16, addr, mask))))
        if proto in (None, "arp"):
            for ethertype in (ETH_ARP, ETH_RARP) if proto is None else (ETH_ARP,):
                parts.append(_And(self.ether(ethertype), self._dirs(
                    direction, self._masked(14, addr, mask), self._masked(24, addr, mask))))
        return _any(*parts)

    def host6(self, direction: str, net: ipaddress.IPv6Network) -> _Node:
        addr = net.network_address.packed
        mask = net.netmask.packed

        def at(offset: int) -> _Node:
            tests = []
            for i in range(4):
                m = int.from_bytes(mask[4 * i:4 * i + 4], "big")
                if m:
                    tests.append(self._masked(offset + 4 * i,
                                              int.from_bytes(addr[4 * i:4 * i + 4], "big"), m))
            # the last word first: it differs most often (libpcap does the same)
            return _all(*reversed(tests)) if tests else self.ether(ETH_IP6)

        return _And(self.ether(ETH_IP6), self._dirs(direction, at(8), at(24)))

    def ports(self, proto: str | None, direction: str, low: int, high: int) -> _Node:
        protos = [P_TCP, P_UDP, P_SCTP] if proto in (None, "ip", "ip6") else \
            [{"tcp": P_TCP, "udp": P_UDP, "sctp": P_SCTP}[proto]]

        def cmp(loads: tuple[Insn, ...]) -> _Node:
            if low == high:
                return _Test(loads, JEQ, low)
            return _And(_Test(loads, JGE, low), _Not(_Test(loads, JGT, high)))

        nl = self.nl
        msh: Insn = (LDX | B | MSH, 0, 0, nl)
        src4 = cmp((msh, (LD | H | IND, 0, 0, nl)))
        dst4 = cmp((msh, (LD | H | IND, 0, 0, nl + 2)))
        first = _Not(_Test(((LD | H | ABS, 0, 0, nl + 6),), JSET, 0x1FFF))
        v4 = _And(_And(self.ether(ETH_IP), _any(*(self.byte(9, p) for p in protos))),
                  _And(first, self._dirs(direction, src4, dst4)))
        src6 = cmp(((LD | H | ABS, 0, 0, nl + 40),))
        dst6 = cmp(((LD | H | ABS, 0, 0, nl + 42),))
        v6 = _And(_And(self.ether(ETH_IP6), _any(*(self.byte(6, p) for p in protos))),
                  self._dirs(direction, src6, dst6))
        if proto == "ip":
            return v4
        if proto == "ip6":
            return v6
        return _Or(v4, v6)


# -- the parser (rule 4) ------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(&&|\|\||[()!])|([A-Za-z0-9_.:/\-]+))")
_PROTOS = {"ip", "ip6", "arp", "tcp", "udp", "sctp", "icmp", "icmp6"}
_DIRS = {"src", "dst"}
_KINDS = {"host", "net", "port", "portrange", "proto"}


@dataclass(slots=True)
class _Qualifiers:
    proto: str | None = None
    direction: str = ""
    kind: str | None = None


@dataclass(slots=True)
class _Parser:
    text: str
    gen: _Gen
    tokens: list[tuple[str, int]] = field(default_factory=list)
    i: int = 0
    last: _Qualifiers = field(default_factory=_Qualifiers)

    def fail(self, expected: str) -> BadInput:
        pos = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text)
        return BadInput(f"bad filter {self.text!r} at position {pos}: expected {expected}")

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> str:
        word = self.tokens[self.i][0]
        self.i += 1
        return word

    def parse(self) -> _Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end")
        return node

    def or_expr(self) -> _Node:
        node = self.and_expr()
        while self.peek() in ("or", "||"):
            self.take()
            node = _Or(node, self.and_expr())
        return node

    def and_expr(self) -> _Node:
        node = self.not_expr()
        while self.peek() in ("and", "&&"):
            self.take()
            node = _And(node, self.not_expr())
        return node

    def not_expr(self) -> _Node:
        if self.peek() in ("not", "!"):
            self.take()
            return _Not(self.not_expr())
        if self.peek() == "(":
            self.take()
            node = self.or_expr()
            if self.peek() != ")":
                raise self.fail("')'")
            self.take()
            return node
        return self.primitive()

    def primitive(self) -> _Node:
        word = self.peek()
        if word is None or word in ("and", "or", "&&", "||", ")"):
            raise self.fail("a primitive (host, net, port, portrange, proto, src, dst, "
                            "ip, ip6, arp, tcp, udp, icmp, icmp6)")
        q = _Qualifiers()
        if word in _PROTOS:
            q.proto = self.take()
        if self.peek() in _DIRS:
            q.direction = self.take()
        if self.peek() in _KINDS:
            q.kind = self.take()
        if q.proto is not None and q.direction == "" and q.kind is None:
            return self.gen.proto(q.proto)  # 'tcp' alone
        if q.proto is None and q.direction == "" and q.kind is None:
            q = _Qualifiers(self.last.proto, self.last.direction, self.last.kind)
            if q.kind is None:  # not after a primitive with a value
                raise self.fail("a primitive (host, net, port, portrange, proto, src, dst, "
                                "ip, ip6, arp, tcp, udp, icmp, icmp6)")
        if q.kind is None:
            q.kind = "host"
        if self.peek() is None or self.peek() in ("(", ")", "!", "&&", "||", "and", "or",
                                                  "not"):
            raise self.fail(f"a value after '{q.kind}'")
        self.last = q
        return self.value(q, self.tokens[self.i][1], self.take())

    def value(self, q: _Qualifiers, pos: int, text: str) -> _Node:
        def bad(expected: str) -> BadInput:
            return BadInput(f"bad filter {self.text!r} at position {pos}: expected {expected}")

        if q.kind in ("host", "net"):
            if q.proto not in (None, "ip", "ip6", "arp"):
                raise bad(f"no '{q.kind}' after '{q.proto}' (use 'ip', 'ip6' or 'arp')")
            try:
                net = ipaddress.ip_network(text, strict=q.kind == "net") if (
                    q.kind == "net" or "/" in text) else ipaddress.ip_network(text)
            except ValueError:
                what = "an address" if q.kind == "host" else "a network ADDRESS/LENGTH"
                raise bad(f"{what} (numeric: no name lookups)") from None
            if q.kind == "host" and "/" in text:
                raise bad("an address without /LENGTH (use 'net' for a network)")
            if isinstance(net, ipaddress.IPv4Network):
                if q.proto == "ip6":
                    raise bad("an IPv6 address after 'ip6'")
                return self.gen.host4(q.proto, q.direction, net)
            if q.proto in ("ip", "arp"):
                raise bad(f"an IPv4 address after '{q.proto}'")
            return self.gen.host6(q.direction, net)
        if q.kind == "proto":
            if not text.isdigit() or int(text) > 255 or q.direction:
                raise bad("a protocol number from 0 to 255")
            number = int(text)
            if q.proto == "ip":
                return self.gen.ip_proto(number)
            if q.proto == "ip6":
                return self.gen.ip6_proto(number)
            if q.proto is None:
                return _Or(self.gen.ip_proto(number), self.gen.ip6_proto(number))
            raise bad("'ip proto', 'ip6 proto' or 'proto'")
        if q.proto in ("arp", "icmp", "icmp6"):
            raise bad(f"no port after '{q.proto}'")
        if q.kind == "portrange":
            m = re.fullmatch(r"(\d{1,5})-(\d{1,5})", text)
            if not m or int(m[1]) > 65535 or int(m[2]) > 65535:
                raise bad("a port range LOW-HIGH (0 to 65535)")
            low, high = sorted((int(m[1]), int(m[2])))
            return self.gen.ports(q.proto, q.direction, low, high)
        if not text.isdigit() or int(text) > 65535:
            raise bad("a port number from 0 to 65535")
        return self.gen.ports(q.proto, q.direction, int(text), int(text))


def _tokens(text: str) -> list[tuple[str, int]]:
    out = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        m = _TOKEN.match(text, at)
        if m is None:
            pos = len(text) - len(text[at:].lstrip())
            raise BadInput(f"bad filter {text!r} at position {pos}: expected a word, "
                           "'(', ')', '!', '&&' or '||'")
        word = m.group(1) or m.group(2)
        out.append((word, m.start(1) if m.group(1) else m.start(2)))
        at = m.end()
    return out


# -- code generation (rule 2) --------------------------------------------------------

class _Label:
    __slots__ = ("pos",)

    def __init__(self) -> None:
        self.pos = -1


def compile_filter(expression: str, linktype: int = 1, snaplen: int = 262144) -> Program:
    """Compile ``expression`` for packets of ``linktype`` (pcap's number, or
    :data:`COOKED_SOCKET`). An empty expression keeps every packet.
    Raises BadInput (rule 4)."""
    link = _LINKS.get(linktype)
    if link is None:
        raise BadInput(f"cannot filter link type {linktype} (socklab filters Ethernet and "
                       "Linux cooked captures)")
    if len(expression) > 4096:
        raise BadInput("filter expression longer than 4096 characters")
    tokens = _tokens(expression)
    if not tokens:
        return Program(expression, ((RET | K, 0, 0, snaplen),))
    tree = _Parser(expression, _Gen(link), tokens).parse()
    code: list[tuple[int, int, int, int, _Label | None, _Label | None]] = []
    keep, drop = _Label(), _Label()

    def gen(node: _Node, t: _Label, f: _Label) -> None:
        if isinstance(node, _Test):
            code.extend((c, jt, jf, k, None, None) for c, jt, jf, k in node.loads)
            code.append((JMP | node.op | K, 0, 0, node.k, t, f))
        elif isinstance(node, _And):
            mid = _Label()
            gen(node.a, mid, f)
            mid.pos = len(code)
            gen(node.b, t, f)
        elif isinstance(node, _Or):
            mid = _Label()
            gen(node.a, t, mid)
            mid.pos = len(code)
            gen(node.b, t, f)
        else:
            gen(node.a, f, t)

    gen(tree, keep, drop)
    keep.pos = len(code)
    drop.pos = len(code) + 1
    out: list[Insn] = []
    for i, (c, jt, jf, k, t, f) in enumerate(code):
        if t is not None and f is not None:
            jt, jf = t.pos - i - 1, f.pos - i - 1
            if jt > 255 or jf > 255:
                raise BadInput(f"filter {expression!r} is too long for classic BPF's jumps")
        out.append((c, jt, jf, k))
    out += [(RET | K, 0, 0, snaplen), (RET | K, 0, 0, 0)]
    if len(out) > 4096:  # BPF_MAXINSNS
        raise BadInput(f"filter {expression!r} compiles to more than 4096 instructions")
    return Program(expression, tuple(out))


# -- the interpreter -------------------------------------------------------------------

def _load(packet: bytes, offset: int, size: int, protocol: int) -> int | None:
    if offset >= SKF_AD_OFF:
        return protocol if offset == SKF_AD_OFF + SKF_AD_PROTOCOL else None
    if offset < 0 or offset + size > len(packet):
        return None
    return int.from_bytes(packet[offset:offset + size], "big")


def run(instructions: Sequence[Insn], packet: bytes, protocol: int = 0) -> int:
    """What the kernel's interpreter returns for ``packet``: the bytes to keep
    (0: drop). ``protocol`` is the ethertype an ancillary load reads. A load
    outside the packet drops it, as in the kernel."""
    a = x = 0
    mem = [0] * 16
    pc = 0
    sizes = {W: 4, H: 2, B: 1}
    while 0 <= pc < len(instructions):  # jumps go forward only: bounded
        code, jt, jf, k = instructions[pc]
        pc += 1
        cls = code & 0x07
        if cls == LD:
            mode = code & 0xE0
            if mode == IMM:
                a = k
            elif mode == LEN:
                a = len(packet)
            elif mode == MEM:
                a = mem[k & 15]
            else:
                offset = k if mode == ABS else (x + k) & 0xFFFFFFFF
                value = _load(packet, offset, sizes.get(code & 0x18, 4), protocol)
                if value is None:
                    return 0
                a = value
        elif cls == LDX:
            mode = code & 0xE0
            if mode == MSH:
                value = _load(packet, k, 1, protocol)
                if value is None:
                    return 0
                x = (value & 0x0F) * 4
            elif mode == LEN:
                x = len(packet)
            elif mode == MEM:
                x = mem[k & 15]
            else:
                x = k
        elif cls == ST:
            mem[k & 15] = a
        elif cls == STX:
            mem[k & 15] = x
        elif cls == ALU:
            a = _alu(code & 0xF0, a, x if code & X else k)
            if a < 0:
                return 0
        elif cls == JMP:
            op = code & 0xF0
            if op == JA:
                pc += k
                continue
            operand = x if code & X else k
            taken = {JEQ: a == operand, JGT: a > operand, JGE: a >= operand,
                     JSET: bool(a & operand)}.get(op, False)
            pc += jt if taken else jf
        elif cls == RET:
            return a if code & 0x18 == RET_A else k
        else:  # MISC
            if code & 0xF8 == TXA:
                a = x
            else:
                x = a
    return 0


def _alu(op: int, a: int, v: int) -> int:
    """One ALU operation on 32-bit values; -1 for a division by zero (the kernel
    drops the packet)."""
    if op in (DIV, MOD) and v == 0:
        return -1
    result = {ADD: a + v, SUB: a - v, MUL: a * v, DIV: a // v if v else 0, OR: a | v,
              AND: a & v, LSH: a << (v & 31), RSH: a >> (v & 31), NEG: -a,
              MOD: a % v if v else 0, XOR: a ^ v}.get(op, a)
    return result & 0xFFFFFFFF
