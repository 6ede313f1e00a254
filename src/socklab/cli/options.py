"""Options several commands share, declared once (light imports: parsers are built at
start-up).

Number types: each refuses what the command could not use (``nan``, ``inf``,
out of bounds) while the command line is parsed, so that a bad number is one
usage error (exit 2) naming the option and the range, never a value that
misbehaves later (``listen --idle-timeout nan`` once listened forever).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

# the longest wait the commands take: iputils' bound for -i and -W (INT_MAX ms)
MAX_SECONDS = 2147483.0


def _error(text: str) -> Exception:
    return argparse.ArgumentTypeError(text)


def seconds(low: float = 0.0, high: float = MAX_SECONDS, *,
            low_included: bool = False) -> Callable[[str], float]:
    """A type for a duration in seconds: a finite number in ``(low, high]``
    (``[low, high]`` when ``low_included``)."""
    sign = ">=" if low_included else ">"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise _error(f"{text!r} is not a number of seconds") from None
        # nan compares false with everything: "not (low < value)" catches it
        above = value >= low if low_included else value > low
        if not (above and value <= high):
            raise _error(f"{text!r} is out of range (a number of seconds {sign} {low:g} "
                         f"and <= {high:.0f})")
        return value

    parse.__name__ = "seconds"
    return parse


def integer(low: int, high: int, what: str = "number") -> Callable[[str], int]:
    """A type for an integer in ``[low, high]``; ``what`` names it in the error."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise _error(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise _error(f"{what} {value} is out of range ({low} to {high})")
        return value

    parse.__name__ = what
    return parse


def add_source_option(p: argparse.ArgumentParser) -> None:
    """``--source`` for the stack commands (socklab.stack.read.SOURCES)."""
    p.add_argument("--source", choices=("auto", "netlink", "proc"), default="auto",
                   help="where to read: rtnetlink, or /proc/net and ioctls as net-tools "
                        "does (auto: netlink, the others when it cannot be opened)")


# ip's words that change the stack (ip-link(8), ip-address(8), ip-route(8), ip-neighbour(8),
# ip-rule(8)): refused, until socklab's change commands exist, rather than read as a name
CHANGE_VERBS = ("add", "del", "delete", "set", "flush", "change", "replace", "append",
                "prepend")
SHOW_VERBS = ("show", "list", "lst", "ls")


def refuse_change(command: str, verb: str) -> None:
    """Raise BadInput for ``socklab COMMAND VERB ...`` when VERB is an ip verb that
    socklab's COMMAND does not have (the verbs it has are dispatched before this)."""
    from socklab.errors import BadInput
    from socklab.stack.grammar import VERBS

    if verb in CHANGE_VERBS:
        raise BadInput(f"{command} {verb}: not a verb of socklab {command} (its verbs: "
                       f"{'|'.join(v for v in VERBS.get(command, ()) if v != 'delete')}; "
                       f"see 'socklab {command} --help')")


def device_words(command: str, words: list[str]) -> str | None:
    """The DEV of ``socklab COMMAND [show] [dev] [DEV]`` (ip's spelling is accepted).

    Raises BadInput for a change verb (:func:`refuse_change`) and for extra words."""
    from socklab.errors import BadInput

    rest = list(words)
    if rest:
        refuse_change(command, rest[0])
        if rest[0] in SHOW_VERBS:
            rest.pop(0)
    if rest and rest[0] == "dev" and len(rest) > 1:
        rest.pop(0)
    if len(rest) > 1:
        raise BadInput(f"{command}: unexpected words {' '.join(rest[1:])!r} "
                       f"(socklab {command} [show] [dev] DEV)")
    return rest[0] if rest else None


def add_hint(p: argparse.ArgumentParser, *flags: str, hint: str) -> None:
    """A hidden option that stops with a hint: a classic tool's spelling
    (``route -n``) answered with socklab's (``--style route``), exit 2."""
    import argparse  # at run time: the import above is for the type checker only

    class Hint(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: object, option_string: str | None = None) -> None:
            from socklab.errors import BadInput

            raise BadInput(f"{parser.prog} {option_string}: {hint}")

    p.add_argument(*flags, action=Hint, nargs=0, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)
