"""The ``--explain`` texts in English or French: the change verbs (``link``/``addr``/
``route``/``rule``/``neigh``, ``ifconfig``, ``arp``), ``sysctl --explain``, ``route
get``'s walk, the comments of ``filter add --explain`` and ``ipsec add --explain``.

Rules:

1. The language is chosen as the tour chooses it (``--lang``, else the locale:
   :func:`socklab.cli.tour.lang.choose`), and the catalogue is read by the tour's
   loader from ``cli/tour/locale/explain-fr.po``, beside the tour's own.
2. Messages the CLI writes are marked ``_("...")`` where they are written.
   Sentences the library builds with values in them (a route lookup's reasons, a
   rule's outcome) are translated after the fact through :data:`TEMPLATES`:
   English patterns with ``{placeholders}``, matched whole, the values carried over
   into the French pattern. tests/unit/test_explain_catalogue.py fails when a
   marked message or template has no translation, and runs the library so that a
   sentence it writes and no template matches is caught.
3. The classic command lines (``ip``, ``ifconfig``, ``route``, ``arp``, ``nft``,
   ``iptables``, ``ip xfrm``) and the values stay as they are: they are what a
   person types, in any language.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

__all__ = ["TEMPLATES", "Explainer", "explainer"]

CATALOGUE = "explain-{lang}.po"


def N_(message: str) -> str:
    """Mark a message for the catalogue (as the tour's ``lang.N_``)."""
    return message

TEMPLATES: tuple[str, ...] = (
    # route get (socklab.stack.lookup): rule outcomes
    N_("no match: {reason}"),
    N_("matched: jump to rule {rule}"),
    N_("matched: nop, go on"),
    N_("matched: {action}"),
    N_("matched: table {table} has no route for {dst}, go on"),
    N_("matched: table {table} throws {prefix}, go on"),
    N_("matched: {prefix} suppressed (suppress_prefixlength {length}), go on"),
    N_("matched: searched table {table}"),
    # ... the reasons a rule does not match (joined by "; ")
    N_("the source is not chosen yet, not in {src}"),
    N_("{dst} is not in {net}"),
    N_("locally sent packets come in on lo, not {iif}"),
    N_("no output interface is forced (oif {oif})"),
    N_("the packet has no mark (fwmark {mark})"),
    N_("the packet has TOS 0 (rule tos {tos})"),
    N_("'not' inverts: {reasons}"),
    N_("every selector matched"),
    N_("every selector matches"),
    # ... why a route won, the source address, the caveats
    N_("0.0.0.0 stands for this host: the kernel sends it over lo without a lookup"),
    N_("the loopback address"),
    N_("255.255.255.255 is the limited broadcast: the route found only picks the interface, "
       "the packet is sent as a link broadcast"),
    N_("{group} is a multicast group: the route found only picks the interface, the packet "
       "is sent to the group"),
    N_("rule {rule} ({text}) also selects on {selectors}, which socklab does not model"),
    N_("rule {rule} is a {action} rule"),
    N_("no rule led to a route for this destination"),
    N_("{prefix} is the only route whose prefix contains the destination"),
    N_("{prefix} wins: the longest prefix (/{length}) of the {count} matching routes"),
    N_("{prefix} wins: same prefix length as {other}, lower metric ({metric} < {others})"),
    N_("the route's preferred source (src {src})"),
    N_("the primary address of {dev} whose subnet holds the gateway"),
    N_("the primary address of {dev} whose subnet holds the destination"),
    N_("the first primary address of {dev}"),
    N_("{dev} has no usable {family} address"),
    N_("socklab's walk and the kernel's answer differ: a selector or route attribute socklab "
       "does not model is in play"),
    N_("the kernel reports table main: while no custom rule exists, IPv4 keeps the local and "
       "main tables merged in one trie"),
    N_("Network is unreachable"),
    N_("Invalid argument (blackhole)"),
    N_("No route to host (unreachable)"),
    N_("Permission denied (prohibit)"),
    # ... how a table too large to read was searched (read._found_by)
    N_("table {table} holds more than {limit} bytes of routes and was not read: the "
       "kernel's answer is a default route, no prefix is shorter"),
    N_("table {table} holds more than {limit} bytes of routes: instead of reading it, "
       "socklab asked the kernel for the route it picks (RTM_F_FIB_MATCH) for {count} "
       "addresses sharing the destination's first bits (one prefix length each, see "
       "probes). Each prefix shows only the route the kernel picks (its lowest metric), "
       "throw routes none"),
    N_("prefix lengths {lengths} were not seen (more specific routes, other tables or "
       "error routes answered)"),
    # filter add --explain, ipsec add --explain: the comment lines
    N_("# iptables counts every rule (iptables -L -v): no counter word"),
    N_("# on {host}: the same with the addresses and the SPIs swapped"),
)
"""Sentences the library writes, as patterns (rule 2). A placeholder matches any
text; one ending a pattern takes the rest of the line."""


_NESTED = ("{reason}", "{reasons}")
"""Placeholders holding sentences of their own, joined by "; " (translated in turn);
a value of any other placeholder holds no "; "."""


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    body = "".join((f"(?P<{p[1:-1]}>.+?)" if p in _NESTED else f"(?P<{p[1:-1]}>[^;]+?)")
                   if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(body + r"\Z", re.S)


def _order(template: str) -> tuple[bool, int]:
    """Templates around nested sentences first, then the most fixed text first
    ("matched: searched table {table}" before "matched: {action}")."""
    return (not any(n in template for n in _NESTED), -len(re.sub(r"\{\w+\}", "", template)))


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Compiled on the first French sentence: English output never pays for it."""
    return tuple((t, _pattern(t)) for t in sorted(TEMPLATES, key=_order))


class Explainer:
    """``_(message)`` for a marked message, :meth:`sentence` for a library sentence."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang if lang == "fr" else "en"
        self.catalogue = _catalogue(self.lang)

    def __call__(self, message: str) -> str:
        return self.catalogue.get(message, message)

    def sentence(self, text: str) -> str:
        """A sentence of the library in this language: matched against the templates
        (the reasons joined by "; " one by one); unmatched text is left as it is."""
        if not self.catalogue:
            return text
        for template, pattern in _patterns():
            m = pattern.match(text)
            if m is None:
                continue
            values = {name: self.sentence(value) if name in ("reason", "reasons") else value
                      for name, value in m.groupdict().items()}
            return self(template).format(**values)
        if "; " in text:
            return "; ".join(self.sentence(part) for part in text.split("; "))
        return text

    def lines(self, lines: list[str]) -> list[str]:
        """Command lines kept, comment lines (``# ...``) translated (rule 3)."""
        return [self.sentence(line) if line.startswith("# ") else line for line in lines]


@lru_cache(maxsize=2)
def _catalogue(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    from socklab.cli.tour.lang import LOCALE_DIR, load_po

    return load_po(LOCALE_DIR / CATALOGUE.format(lang=lang))


_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def explainer(explicit: str | None = None) -> Explainer:
    """The explainer for ``--lang``, else the locale (rule 1). The tour's package is
    imported (about 15 ms) only when French is possible: with ``--lang en``, or no
    locale variable naming French, English is certain (``choose`` gives English for
    anything else) and ``route get`` starts as fast as before."""
    if explicit == "en" or (explicit is None and not any(
            "fr" in os.environ.get(name, "").lower() for name in _LOCALE_VARIABLES)):
        return Explainer("en")
    from socklab.cli.tour.lang import choose

    return Explainer(choose(explicit))
