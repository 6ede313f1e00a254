"""``socklab tour``: the course, section by section, on this machine.

Rules of the tour:

1. Everything shown is read from the live kernel or done with real sockets;
   nothing is canned. Socket calls are shown as they happen, through the same
   trace events as ``--trace``.
2. A section that needs a privilege the process lacks says which and why, and
   the tour goes on (:class:`~socklab.errors.MissingPrivilege` is caught per
   section). The tour never fails on an ordinary machine.
3. Sections are plain functions ``fn(tour)`` registered in :data:`SECTIONS`,
   in the order of the course.
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
from socklab.errors import MissingPrivilege, SocklabError

__all__ = ["SECTIONS", "Section", "SectionResult", "Tour", "run"]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str
    course: str  # where the course talks about it
    module: str  # socklab.cli.tour.<module>.section(tour) runs it; imported when run

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

    def __init__(self, out: TextIO | None, width: int = 78, debug: bool = False) -> None:
        self.out = out  # None: record only (for --json)
        self.width = width
        self.debug = debug
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

    def lines(self, lines: list[str], data: object = None) -> None:
        """Pre-rendered lines (a table), with the rows behind them for JSON."""
        self._record({"kind": "table", "lines": lines, "data": data})
        for line in lines:
            self._line("    " + line)
        self._line()

    def event(self, ev: trace.TraceEvent) -> None:
        self._record({"kind": "call", "text": ev.text(), "event": ev.as_dict()})
        self._line("    > " + ev.text())

    @contextmanager
    def traced(self) -> Iterator[None]:
        """Show every socket call made (by sockets created) inside the block."""
        with trace.tracing(self.event):
            yield

    # -- running ---------------------------------------------------------------
    def run_section(self, section: Section) -> SectionResult:
        result = SectionResult(section.name, section.title, section.course)
        self.results.append(result)
        self._current = result
        self._line(f"== {section.title}  [{section.course}]")
        self._line()
        try:
            section.run(self)
        except MissingPrivilege as exc:
            result.status, result.reason = "skipped", str(exc)
            self._line(f"  (skipped: {exc})")
            self._line()
        except SocklabError as exc:
            result.status, result.reason = "failed", str(exc)
            self._line(f"  (this section failed: {exc})")
            self._line()
        except Exception as exc:  # a bug in a section must not hide the others
            result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
            self._line(f"  (this section failed: {result.reason})")
            if self.debug:
                self._line(traceback.format_exc())
            self._line()
        finally:
            self._current = None
        return result


SECTION_LIST = [
    Section("stack", "The stack from user space: interfaces, addresses, routes",
            "course 1.1, 1.2", "stack"),
    Section("change", "Changing the stack: ifconfig, route, arp, sysctl -w, and the diff",
            "course 1.3", "change"),
    Section("lab", "A lab: two LANs and a router in namespaces, ip_forward off and on",
            "course 1.2, 1.3", "lab"),
    Section("tcp", "TCP, the connected mode: server and client on loopback",
            "course 2.1.2, 2.1.4, 3.1", "tcp"),
    Section("udp", "Datagrams: UDP, and the pseudo-connected mode",
            "course 2.1.2, 3.1", "udp"),
    Section("unix", "Local sockets: a path, an abstract name, a socketpair",
            "course 2.1.1, 2.2.1", "unix"),
    Section("sockets", "The socket table: what netstat -anp shows, for the tour's sockets",
            "course 2.1.1", "socktable"),
    Section("ping", "ping: ICMP echo, over a raw or a datagram socket", "course 3.1", "ping"),
]


def SECTIONS() -> list[Section]:  # a function: sections may one day depend on the machine
    return list(SECTION_LIST)


def run(tour: Tour, only: list[str] | None = None) -> list[SectionResult]:
    """Run the sections (all, or those named in ``only``) in course order."""
    started = time.monotonic()
    for section in SECTIONS():
        if only and section.name not in only:
            continue
        tour.run_section(section)
    tour._line(f"-- tour done in {time.monotonic() - started:.2f} s: "
               + ", ".join(f"{r.name} {r.status}" for r in tour.results))
    return tour.results
