"""The argument parser of ``socklab``: imported only when a command line needs
parsing (``socklab --version`` does not), since argparse brings re, gettext and
locale (~8 ms of start-up).

Only the parser of the command being run is built, with its module imported;
``socklab --help`` builds the list of commands and imports none of them.
"""

from __future__ import annotations

import argparse
import importlib

from socklab.cli.main import COMMANDS, PROG, _version
from socklab.errors import BadInput

TYPE_CHECKING = False  # as in main.py: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any, NoReturn


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:  # argparse makes a formatter at every add_argument
            from socklab.cli.render import terminal_columns

            width = terminal_columns(80) - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 (via BadInput), and a
    help formatter that needs no shutil."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{message} (see '{self.prog} --help')")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options valid before and after COMMAND (``socklab --json CMD`` or ``CMD --json``)."""
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument("--json", action="store_true", default=default or False,
                   help="print JSON on stdout instead of a table")
    g.add_argument("--trace", action="store_const", const="text", default=default,
                   help="print every socket call on stderr; --trace=json for JSON lines")
    # '--trace=json' is rewritten to this before parsing (see _normalise): a bare
    # '--trace' must not swallow the COMMAND word that follows it.
    g.add_argument("--trace-format", dest="trace", choices=("text", "json"),
                   default=default, help=argparse.SUPPRESS)
    g.add_argument("--debug", action="store_true", default=default or False,
                   help="show the Python traceback of an error")
    g.add_argument("--netns", metavar="NAME", default=default,
                   help="run inside the named network namespace (as 'ip -n NAME')")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="The Linux network stack and the BSD sockets API, made real.",
        epilog="Run 'socklab COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show socklab's version and exit")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, summary) in COMMANDS.items():
        if command is None:  # 'socklab --help': the list, no command module imported
            sub.add_parser(name, help=summary)
            continue
        if name != command:
            continue  # main() checked the name already: only its parser is built
        mod = importlib.import_module(f"socklab.cli.{module}")
        p = sub.add_parser(
            name, help=summary, description=mod.__doc__,
            formatter_class=_Formatter,
        )
        _global_options(p, suppress=True)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


class _VersionAction(argparse.Action):
    """--version among other words (``socklab --json --version``); alone, main()
    answers it without building a parser."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(_version())
        parser.exit()
