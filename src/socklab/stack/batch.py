"""A batch of changes, as ``ip -batch FILE``: one change a line, in ``ip``'s grammar
(``route add 10.0.0.0/8 via 192.0.2.1``), checked whole, then sent pipelined.

Rules:

1. A line is ``COMMAND VERB WORDS...`` with COMMAND one of link, addr, route,
   rule, neigh (and ip's long names: address, neighbour, neighbor), read by
   :mod:`socklab.stack.grammar`, the parser of ``socklab route add ...``.
   ``#`` starts a comment (as in ip's batch files); blank lines are skipped; a line
   ending in a backslash goes on with the next, and a word in quotes keeps its
   spaces (ip's getcmdline and makeargs, lib/utils.c).
2. Every line is parsed and checked before anything is sent, each against the
   namespace as the lines before it leave it (:func:`socklab.stack.change.planning`:
   a device a line makes can be named by the lines after it). A bad line is
   BadInput ``SOURCE:LINE: problem`` (exit 2) and nothing is sent.
3. Hostile input is bounded: at most MAX_LINES lines of MAX_LINE characters.
4. The requests are then pipelined (:meth:`NetlinkSocket.pipeline`): up to
   PIPELINE_WINDOW requests a ``send``, answers matched by sequence number,
   each refusal mapped back to its line with the kernel's extended ack text.
5. A refusal without ``force``: no buffer is sent after the one holding it.
   The kernel handles a buffer whole (it goes on after a refusal), so the lines
   of that buffer after the refused one are applied too. Every line's outcome
   is reported exactly: ``applied``, ``refused`` (with the reason) or ``not
   sent``. With ``force`` (ip's ``-force``) every line is sent and each refusal
   reported. A refusal for want of privilege with nothing applied is
   MissingPrivilege (exit 77): nothing changed.
6. A tun or tap device (made through /dev/net/tun, not rtnetlink) is made in
   its place in the order: the requests before it are answered first.
"""

from __future__ import annotations

import errno
import gc
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import NamedTuple

from socklab.errors import BadInput, MissingPrivilege, NotFound
from socklab.kernel import netlink
from socklab.kernel import netns as knetns
from socklab.stack import change, grammar
from socklab.stack.change import Change

__all__ = ["MAX_BYTES", "MAX_LINE", "MAX_LINES", "Line", "Outcome", "Result", "plan", "run"]

MAX_LINE = 4096  # characters a line (ip's own buffer is smaller; long lines are no changes)
MAX_LINES = 250_000  # lines a batch: a quarter of a full BGP table, about 200 MiB planned
MAX_BYTES = 64 << 20  # a batch file (250,000 route lines take about 15 MiB)
COMMANDS = {"link": "link", "addr": "addr", "address": "addr", "route": "route",
            "rule": "rule", "neigh": "neigh", "neighbour": "neigh", "neighbor": "neigh"}
PRIVILEGE = (errno.EPERM, errno.EACCES)


class Line(NamedTuple):
    """A line of the batch, checked: its number, its text, the change it plans."""

    number: int
    text: str
    change: Change


class Outcome(NamedTuple):
    """What became of a line: ``applied``, ``refused`` (``error`` says why), ``not sent``
    or, in a dry run, ``planned``."""

    number: int
    text: str
    change: Change
    status: str
    error: str | None = None


class Result(NamedTuple):
    """A batch's outcome, line by line. ``sent`` is False for a dry run."""

    source: str
    outcomes: tuple[Outcome, ...]
    sent: bool

    def numbers(self, status: str) -> list[int]:
        """The line numbers of the outcomes with ``status``."""
        return [o.number for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        """True when every line was applied (or, in a dry run, planned)."""
        return all(o.status in ("applied", "planned") for o in self.outcomes)


def _lines(lines: Iterable[str], source: str) -> Iterator[tuple[int, str, list[str]]]:
    """``(number, text, words)`` of each line that holds a change (rules 1 and 3; the
    count is checked before the first line is read). As ip's getcmdline (lib/utils.c):
    ``#`` ends a line; a line ending in a backslash (before any comment) goes on with
    the next, the backslash dropped; the change is numbered by its first line."""
    held = list(itertools.islice(lines, MAX_LINES + 1))
    if len(held) > MAX_LINES:
        raise BadInput(f"{source}: more than {MAX_LINES} lines")
    text = ""
    first = 0
    for number, raw in enumerate(held, 1):
        if len(raw) > MAX_LINE:
            raise BadInput(f"{source}:{number}: line longer than {MAX_LINE} characters")
        text, first = text + raw.split("#", 1)[0], first or number
        if text.endswith("\\") and "#" not in raw:
            if len(text) > MAX_LINE:
                raise BadInput(f"{source}:{first}: line longer than {MAX_LINE} characters")
            if number == len(held):
                raise BadInput(f"{source}:{number}: missing continuation line")
            text = text[:-1]
            continue
        words = _words(text, source, first)
        if words:
            yield first, text.strip(), words
        text, first = "", 0


_QUOTES = ("'", '"')
_SPACE = " \t\r\n"


def _words(text: str, source: str, number: int) -> list[str]:
    """The words of a line as ip's makeargs (lib/utils.c) cuts them: runs of anything
    but space, tab, CR and LF; a word that starts with a quote runs to the same quote
    (spaces kept, the quotes dropped). Plain ASCII without quotes takes str.split."""
    if text.isascii() and "'" not in text and '"' not in text:
        return text.split()
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _SPACE:
            i += 1
        elif text[i] in _QUOTES:
            end = text.find(text[i], i + 1)
            if end == -1:
                raise BadInput(f"{source}:{number}: unterminated quoted string")
            words.append(text[i + 1:end])
            i = end + 1
        else:
            end = i
            while end < n and text[end] not in _SPACE:
                end += 1
            words.append(text[i:end])
            i = end
    return words


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector off while planning: the plan's objects hold no cycles, and the
    collector would walk the growing plan again and again (10,000 route lines: 189 ms
    planned with it, 147 ms without; docs/design.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan(lines: Iterable[str], *, source: str = "-", netns: str | None = None) -> list[Line]:
    """Parse and check every line (rule 2); nothing is sent. Raises BadInput
    ``SOURCE:LINE: problem`` for the first bad line."""
    out: list[Line] = []
    parsers = grammar.PARSERS
    contexts = {(c, v): f"{c} {'del' if v == 'delete' else v}"
                for c, verbs in grammar.VERBS.items() for v in verbs}
    with change.planning(netns=netns), _collector_paused():
        for number, text, words in _lines(lines, source):
            command = COMMANDS.get(words[0])
            if command is None:
                raise BadInput(f"{source}:{number}: unknown command {words[0]!r} "
                               f"({', '.join(grammar.VERBS)})")
            verb = words[1] if len(words) > 1 else ""
            context = contexts.get((command, verb))
            if context is None:
                raise BadInput(f"{source}:{number}: {command}: expected a verb "
                               f"({'|'.join(grammar.VERBS[command])}), not {verb!r}")
            verb = "del" if verb == "delete" else verb
            try:
                planned = parsers[command](verb, grammar.Words(context, words[2:]), None, True,
                                           netns)
            except (BadInput, NotFound) as exc:
                raise BadInput(f"{source}:{number}: {exc}") from None
            out.append(Line(number, text, planned))
    return out


def run(lines: Iterable[str], *, source: str = "-", netns: str | None = None,
        force: bool = False, dry_run: bool = False) -> Result:
    """``ip -batch``: plan every line (rule 2), then, unless ``dry_run``, send them
    pipelined in ``netns`` (rules 4 to 6). Returns every line's outcome."""
    planned = plan(lines, source=source, netns=netns)
    if dry_run:
        return Result(source, tuple(Outcome(ln.number, ln.text, ln.change, "planned")
                                    for ln in planned), False)
    status = ["not sent"] * len(planned)
    errors: list[str | None] = [None] * len(planned)
    refused_codes: list[int] = []
    with knetns.entered(netns) if netns else nullcontext():
        try:
            nl = netlink.NetlinkSocket(netlink.NETLINK_ROUTE)
        except OSError as exc:
            raise change.refusal(f"{source}: open rtnetlink socket", exc.errno or errno.EIO
                                 ) from exc
        with nl:
            nl.enable_ext_ack()
            nl.cap_acks()
            i = 0
            while i < len(planned):
                j = i
                while j < len(planned) and planned[j].change.tun is None:
                    j += 1
                if j > i:
                    _send(nl, planned, i, j, force, status, errors, refused_codes)
                if j < len(planned) and (force or not refused_codes):
                    _tun(planned[j], status, errors, refused_codes, j)
                    j += 1
                if refused_codes and not force:
                    break
                i = j
    if refused_codes and refused_codes[0] in PRIVILEGE and "applied" not in status:
        raise MissingPrivilege(f"{source}: {planned[0].change.operation}", change.CAPABILITY,
                               change.HINT)
    return Result(source, tuple(Outcome(ln.number, ln.text, ln.change, status[k], errors[k])
                                for k, ln in enumerate(planned)), True)


def _send(nl: netlink.NetlinkSocket, planned: list[Line], i: int, j: int, force: bool,
          status: list[str], errors: list[str | None], codes: list[int]) -> None:
    """Pipeline the requests of lines ``i`` to ``j - 1`` and mark each line."""
    requests: list[tuple[int, int, bytes]] = []
    owner: list[int] = []
    for k in range(i, j):
        for req in planned[k].change.requests:
            requests.append(req)
            owner.append(k)
    try:
        sent, refused = nl.pipeline(requests, keep_going=force)
    except OSError as exc:  # answers lost (ENOBUFS) or unreadable: outcomes unknown
        raise change.refusal(f"{planned[i].change.operation} and the lines after it",
                             exc.errno or errno.EIO) from exc
    reached = set(owner[:sent])
    complete = reached - set(owner[sent:])
    before = 0  # requests of the lines before k
    for k in range(i, j):
        count = len(planned[k].change.requests)
        if k in complete or (not count and before <= sent):
            status[k] = "applied"
        elif k in reached:
            status[k] = "partly applied"
            errors[k] = "stopped after an earlier line was refused"
        before += count
    for position, code, text in refused:
        k = owner[position]
        if status[k] != "refused":  # the first refusal of a line is its reason
            status[k] = "refused"
            errors[k] = str(change.refusal(planned[k].change.operation, code, text))
            codes.append(code)


def _tun(line: Line, status: list[str], errors: list[str | None], codes: list[int],
         k: int) -> None:
    """Make the tun/tap device of ``line`` (rule 6), in the namespace entered."""
    from socklab.kernel import tun

    assert line.change.tun is not None
    try:
        tun.create(*line.change.tun)
    except OSError as exc:
        status[k] = "refused"
        errors[k] = str(change.refusal(line.change.operation, exc.errno or errno.EIO))
        codes.append(exc.errno or errno.EIO)
    else:
        status[k] = "applied"
