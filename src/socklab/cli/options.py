"""Options several commands share, declared once (no imports: parsers are built at start-up)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


def add_source_option(p: Any) -> None:
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
    """Raise BadInput for ``socklab COMMAND VERB ...`` when VERB changes the stack."""
    from socklab.errors import BadInput

    if verb in CHANGE_VERBS:
        raise BadInput(f"{command} {verb}: socklab reads the stack and does not change it yet; "
                       f"use 'ip {command} {verb} ...' for now")


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
