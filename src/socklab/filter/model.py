"""The nftables ruleset as socklab shows it: tables holding chains (holding rules) and sets.

This is socklab's own schema (``socklab filter --json``), stable across nftables
versions: nft's raw JSON names the same things differently (``prio``, ``elem``,
rules beside their chains instead of in them, one ``expr`` list per rule).
"""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    """One rule: ``text`` as ``nft -a list ruleset`` prints it (without ``# handle``)."""

    handle: int
    text: str
    packets: int | None  # the rule's first counter; None when it has none
    bytes: int | None
    comment: str | None


class Chain(NamedTuple):
    """A chain; ``hook``, ``type``, ``priority`` and ``policy`` are None for a regular
    chain (one reached only by ``jump``/``goto``)."""

    name: str
    handle: int
    type: str | None
    hook: str | None
    priority: int | None
    policy: str | None
    device: str | None
    rules: tuple[Rule, ...]


class NftSet(NamedTuple):
    """A named set or map; ``elements`` as text (``10.0.0.0/8``, ``1-1024``)."""

    name: str
    handle: int
    kind: str  # "set" or "map"
    type: str
    flags: tuple[str, ...]
    elements: tuple[str, ...]


class Table(NamedTuple):
    family: str  # ip, ip6, inet, arp, bridge, netdev
    name: str
    handle: int
    chains: tuple[Chain, ...]
    sets: tuple[NftSet, ...]


class Ruleset(NamedTuple):
    """Everything ``nft list ruleset`` shows, plus the legacy iptables tables in use
    (``ip_tables_names``): their rules are outside nftables and not read."""

    tables: tuple[Table, ...]
    legacy_iptables: tuple[str, ...]
    source: str  # "libnftables" or "nft"
