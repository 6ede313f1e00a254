"""``socklab tour``: the course, section by section, on this machine.

Rules of the tour:

1. Everything shown is read from the live kernel or done with real sockets;
   nothing is canned. Socket calls are shown as they happen, through the same
   trace events as ``--trace``.
2. A section that needs a privilege the process lacks says which and why, and
   the tour goes on (:class:`~socklab.errors.MissingPrivilege` is caught per
   section). The tour never fails on an ordinary machine.
3. Sections are plain functions ``fn(tour)`` registered in :data:`SECTIONS`,
   in the order of the course, each with its course numbers; ``socklab tour
   2.1.2`` selects by number (a number selects its subsections too).
4. Every message is English in the source and translated through ``t._``
   (:mod:`socklab.cli.tour.lang`): French from ``locale/fr.po``.
5. Roles, not numbers: a section names the socket it is about to create
   (:meth:`Tour.role`) and every traced call then shows ``fd 5 (accepted)``.
6. Each section ends with one or two commands to try next (:meth:`Tour.next_steps`).
7. Pictures: a section records the data of a figure for ``tour --html`` with
   :meth:`Tour.figure` (``sequence``, ``buffers``, ``topology``); the text says the
   same in words and numbers, and ``--json`` carries the data.
"""

from __future__ import annotations

import textwrap
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from socklab import trace
from socklab.cli.tour.lang import N_, Translator
from socklab.errors import MissingPrivilege, SocklabError

__all__ = ["SECTIONS", "Section", "SectionResult", "Tour", "run"]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str  # English, marked N_(): translated when shown
    numbers: tuple[str, ...]  # the course's sections it walks through ("2.1.2")
    module: str  # socklab.cli.tour.<module>.section(tour) runs it; imported when run

    @property
    def course(self) -> str:
        return "course " + ", ".join(self.numbers)

    def selected_by(self, word: str) -> bool:
        """Its name, one of its numbers, or a number of a course section that holds it."""
        return word == self.name or any(n == word or n.startswith(word + ".")
                                        for n in self.numbers)

    def run(self, tour: Tour) -> None:
        import importlib

        importlib.import_module(f"socklab.cli.tour.{self.module}").section(tour)


@dataclass(slots=True)
class SectionResult:
    name: str
    title: str
    course: str
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    steps: list[dict[str, object]] = field(default_factory=list)


class Tour:
    """What a section writes to: narrative, facts, traced calls, tables."""

    def __init__(self, out: TextIO | None, width: int = 78, debug: bool = False,
                 lang: str = "en") -> None:
        self.out = out  # None: record only (for --json)
        self.width = width
        self.debug = debug
        self._ = Translator(lang)
        self.lang = self._.lang
        # fd -> role, until the fd is closed: only the names the sections give, in the
        # tour's language, not the library's English ones (socklab.trace rule 4)
        self._roles = trace.Roles(from_events=False)
        self.results: list[SectionResult] = []
        self._current: SectionResult | None = None
        self._blank = True  # the last line written was empty

    # -- writing ---------------------------------------------------------------
    def _line(self, text: str = "") -> None:
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()
        self._blank = not text

    def _record(self, step: dict[str, object]) -> None:
        if self._current is not None:
            self._current.steps.append(step)

    def say(self, text: str) -> None:
        """A paragraph of explanation."""
        self._record({"kind": "say", "text": text})
        if not self._blank:
            self._line()
        for line in textwrap.wrap(text, self.width - 2):
            self._line("  " + line)
        self._line()

    def fact(self, label: str, value: object, note: str = "") -> None:
        """One thing the kernel told us: ``label: value  (note)``."""
        self._record({"kind": "fact", "label": label, "value": value, "note": note})
        tail = f"   ({note})" if note else ""
        self._line(f"  {label}: {value}{tail}")

    def lines(self, lines: list[str], data: object = None, joined: bool = False) -> None:
        """Pre-rendered lines (a table), with the rows behind them for JSON. ``joined``:
        the calls that follow belong to these lines (the TD's code): no blank line
        between them, one before."""
        self._record({"kind": "table", "lines": lines, "data": data})
        if joined and not self._blank:
            self._line()
        for line in lines:
            self._line("    " + line)
        if not joined:
            self._line()

    def role(self, *roles: str) -> None:
        """Name the sockets the next calls create (socket, accept, socketpair), in order."""
        self._roles.expect(*roles)

    def labelled(self, text: str) -> str:
        """``fd 5`` -> ``fd 5 (accepted)`` for every fd whose role is known."""
        return self._roles.labelled(text)

    def event(self, ev: trace.TraceEvent) -> None:
        made = self._roles.created(ev)
        fd = ev.fd if ev.fd is not None else (made[0] if made else None)
        before = self._roles.of(fd)  # a close forgets the role (the number may come back)
        text = self._roles.see(ev)
        lane = (self._roles.of(fd) or before or f"fd {fd}") if fd is not None else ""
        self._record({"kind": "call", "text": text, "lane": lane, "event": ev.as_dict()})
        self._line("    > " + text)

    def steps(self) -> list[dict[str, object]]:
        """What the current section has shown so far."""
        return list(self._current.steps) if self._current is not None else []

    def figure(self, name: str, data: dict[str, object]) -> None:
        """Data for a figure of ``tour --html`` (nothing is printed: the text says it)."""
        self._record({"kind": "figure", "figure": name, "data": data})

    def saw(self, word: str) -> bool:
        """Whether a call traced in the current section shows ``word`` (EAGAIN ...)."""
        return self._current is not None and any(
            word in str(step.get("text", "")) for step in self._current.steps
            if step["kind"] == "call")

    def next_steps(self, *commands: str) -> None:
        """What to try next, at the end of a section."""
        self._record({"kind": "next", "commands": list(commands)})
        if not self._blank:
            self._line()
        for command in commands:
            self._line(f"  {self._('try next:')} {command}")
        self._line()

    @contextmanager
    def traced(self) -> Iterator[None]:
        """Show every socket call made (by sockets created) inside the block."""
        with trace.tracing(self.event):
            yield

    # -- running ---------------------------------------------------------------
    def run_section(self, section: Section) -> SectionResult:
        _ = self._
        result = SectionResult(section.name, _(section.title), section.course)
        self.results.append(result)
        self._current = result
        self._roles.clear()
        numbers = ", ".join(section.numbers)
        self._line(f"== {section.numbers[0]}  {_(section.title)}  [{_('course')} {numbers}]")
        self._line()
        try:
            section.run(self)
        except MissingPrivilege as exc:
            result.status, result.reason = "skipped", str(exc)
            self._line(f"  ({_('skipped')}: {exc})")
            self._line()
        except SocklabError as exc:
            result.status, result.reason = "failed", str(exc)
            self._line(f"  ({_('this section failed')}: {exc})")
            self._line()
        except Exception as exc:  # a bug in a section must not hide the others
            result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
            self._line(f"  ({_('this section failed')}: {result.reason})")
            if self.debug:
                self._line(traceback.format_exc())
            self._line()
        finally:
            self._current = None
        return result


STATUS_WORDS = (N_("ok"), N_("skipped"), N_("failed"))  # SectionResult.status, as shown

SECTION_LIST = [
    Section("stack", N_("The stack from user space: interfaces, addresses, routes"),
            ("1.1", "1.2"), "stack"),
    Section("arp", N_("The ARP table: IP addresses and MAC addresses of the neighbours"),
            ("1.1",), "arp"),
    Section("change", N_("Changing the stack: ifconfig, route, arp, sysctl -w, and the diff"),
            ("1.3",), "change"),
    Section("lab", N_("A lab: two LANs and a router in namespaces, ip_forward off and on"),
            ("1.2", "1.3"), "lab"),
    Section("filter", N_("Packet filtering: a rule drops a connection, its counter, and the "
                         "kernel's trace"), ("1.3.1",), "filtering"),
    Section("ipsec", N_("IPsec: the kernel's security policies and associations (xfrm)"),
            ("1.3.2",), "ipsec"),
    Section("sysctl", N_("sysctl, the kernel's parameters, and setsockopt for one socket"),
            ("1.3.3",), "sysctl"),
    Section("families", N_("Families: one socket of each, and what socket() answers for "
                           "the others"), ("2.1.1",), "families"),
    Section("tcp", N_("TCP, the connected mode: server and client on loopback"),
            ("2.1.2", "2.1.4", "3.1"), "tcp"),
    Section("udp", N_("Datagrams: UDP, and the pseudo-connected mode"),
            ("2.1.2", "3.1"), "udp"),
    Section("roles", N_("Roles: client, server, and a relay that is both"),
            ("2.1.3",), "relay"),
    Section("unix", N_("Local sockets: a path, an abstract name, a socketpair"),
            ("2.1.1", "2.2.1"), "unix"),
    Section("addressing", N_("Addresses: INADDR_ANY or one address, and fork() sharing "
                             "a socketpair"), ("2.2.1",), "addressing"),
    Section("sockaddr", N_("struct sockaddr: an address of each family, byte by byte"),
            ("2.2.2",), "sockaddr"),
    Section("sockets", N_("The socket table: what netstat -anp shows, for the tour's sockets"),
            ("2.1.1",), "socktable"),
    Section("ping", N_("ping: ICMP echo, over a raw or a datagram socket"), ("3.1",), "ping"),
    Section("td", N_("The TD in Python: the course's code run line by line"), ("3.2",), "td"),
]


def SECTIONS() -> list[Section]:  # a function: sections may one day depend on the machine
    return list(SECTION_LIST)


def run(tour: Tour, only: list[str] | None = None) -> list[SectionResult]:
    """Run the sections (all, or those selected by a word of ``only``) in course order."""
    started = time.monotonic()
    for section in SECTIONS():
        if only and not any(section.selected_by(word) for word in only):
            continue
        tour.run_section(section)
    _ = tour._
    tour._line(_("-- tour done in {seconds} s: ").format(
        seconds=f"{time.monotonic() - started:.2f}")
        + ", ".join(f"{r.name} {_(r.status)}" for r in tour.results))
    return tour.results
