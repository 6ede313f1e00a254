"""``socklab [global options] COMMAND ...``: parsing, dispatch and exit codes.

Start-up is kept small: the table below names each command's module without
importing it, and only the command being run is imported (its module brings
what it needs). ``socklab --help`` imports no command at all, and
``socklab --version`` not even argparse (:mod:`socklab.cli.parser`). This module
imports neither ``typing`` nor ``collections`` (~3 ms): its type-only imports sit
under ``TYPE_CHECKING``, spelt as a plain constant that the type checker knows.

Exit codes (README "Exit codes"): 0 ok, 1 negative result or runtime failure,
2 usage or bad input, 77 missing privilege, 130 interrupted (SIGINT), 128+N for
SIGTERM (143) and SIGHUP (129), after the same cleanup as an interrupt.
"""

from __future__ import annotations

import os
import sys

from socklab.errors import EXIT_FAILURE, EXIT_INTERRUPTED, BadInput, SocklabError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from types import FrameType

    _Handler = Callable[[int, FrameType | None], object] | int | None  # signal.getsignal's

# name -> (module under socklab.cli, one-line summary with the classic command)
COMMANDS: dict[str, tuple[str, str]] = {
    "link": ("cmd_link", "network interfaces (ifconfig -a, ip link)"),
    "addr": ("cmd_addr", "addresses of the interfaces (ip addr)"),
    "route": ("cmd_route", "routing tables, and a route lookup explained (route -n, ip route get)"),
    "rule": ("cmd_rule", "routing policy rules (ip rule)"),
    "neigh": ("cmd_neigh", "neighbour tables: ARP and NDP (arp -an, ip neigh)"),
    "sysctl": ("cmd_sysctl", "kernel parameters, read, written, explained (sysctl)"),
    "snapshot": ("cmd_snapshot", "the stack as JSON, to compare later (ip -j ...; sysctl -a)"),
    "diff": ("cmd_diff", "what changed between two snapshots, or since one"),
    "batch": ("cmd_batch", "the changes of a file, one a line, checked then sent (ip -batch)"),
    "ifconfig": ("cmd_ifconfig", "ifconfig's grammar: show or change an interface"),
    "arp": ("cmd_arp", "arp's grammar: show, add (-s) or delete (-d) ARP entries"),
    "filter": ("cmd_filter", "the nftables ruleset, rule changes, packet traces (nft, iptables)"),
    "ipsec": ("cmd_ipsec", "IPsec policies and security associations (ip xfrm)"),
    "connect": ("cmd_connect", "connect to an endpoint, stdin/stdout to the socket (nc)"),
    "listen": ("cmd_listen", "listen on an endpoint and serve clients (nc -l, ncat)"),
    "relay": ("cmd_relay", "relay two endpoints both ways (socat)"),
    "send": ("cmd_send", "send a file, checked by size and SHA-256"),
    "receive": ("cmd_receive", "receive a file sent by 'socklab send'"),
    "ping": ("cmd_ping", "ICMP echo over the socket you may open (ping)"),
    "scan": ("cmd_scan", "TCP connect scan: open, closed, filtered (nmap -sT)"),
    "traceroute": ("cmd_traceroute", "the routers on the way to a host (traceroute)"),
    "sockets": ("cmd_sockets", "the socket table with owners (netstat -anp, ss)"),
    "sniff": ("cmd_sniff", "capture packets, filter them, read and write pcap (tcpdump -n)"),
    "lab": ("cmd_lab", "small networks in namespaces, the course's exercises, checked"),
    "explain": ("cmd_explain", "a call sequence drawn with its packets and TCP states"),
    "tour": ("cmd_tour", "walk through the course on this machine, tracing every call"),
}

PROG = "socklab"


def _normalise(argv: Sequence[str]) -> list[str]:
    """``--trace=json`` -> ``--trace-format=json``; nmap's ``-p-`` -> ``-p -``; ip's
    ``-batch FILE [-force]`` (``-force`` before it too) -> ``batch FILE --force``."""
    out = []
    batch = "-batch" in argv or "--batch" in argv
    for w in argv:
        if batch and w in ("-batch", "--batch"):
            out.append("batch")
        elif batch and w == "-force":
            continue  # put after the command's words, below
        elif w.startswith("--trace="):
            out.append("--trace-format=" + w[len("--trace="):])
        elif w == "-p-":
            out += ["--ports=-"]
        else:
            out.append(w)
    return [*out, "--force"] if batch and "-force" in argv else out


def _find_command(argv: Sequence[str]) -> str | None:
    """The COMMAND word of argv, skipping global options and their values."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--netns":
            skip = True
            continue
        if word.startswith("-"):
            continue
        return word
    return None


def _version() -> str:
    """``socklab X.Y.Z``: the package's own ``__version__``, which a test keeps equal to
    the installed metadata (reading that metadata costs ~15 ms of importlib.metadata)."""
    from socklab import __version__

    return f"{PROG} {__version__}"


def _setup_trace(mode: str | None) -> None:
    if not mode:
        return
    from socklab import trace

    trace.subscribe(trace.json_sink() if mode == "json" else trace.text_sink())


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is, so that every ``finally`` runs
    (a receive removes its temporary file, a listener its socket file) as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _frame: FrameType | None) -> None:
    import signal

    for other in (signal.SIGTERM, signal.SIGHUP):  # a second signal kills at once
        signal.signal(other, signal.SIG_DFL)
    raise Terminated(signum)


def _catch_termination(handlers: dict[int, _Handler] | None = None) -> dict[int, _Handler]:
    """Install the handlers raising :class:`Terminated` (or put ``handlers`` back);
    returns those replaced. A signal ignored at start (nohup) stays ignored."""
    import signal

    previous: dict[int, _Handler] = {}
    try:
        if handlers is not None:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            return previous
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is signal.SIG_DFL:
                previous[signum] = signal.signal(signum, _terminate)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    args_list = _normalise(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:  # what scripts ask, answered without argparse
        print(_version())
        return 0
    debug = "--debug" in args_list
    handlers = _catch_termination()
    try:
        name = _find_command(args_list)
        if name is not None and name not in COMMANDS:
            raise BadInput(f"unknown command {name!r} (commands: {', '.join(COMMANDS)})")
        from socklab.cli.parser import build_parser

        parser = build_parser(name)
        args, extra = parser.parse_known_args(args_list)
        debug = args.debug
        if args.command is None:
            raise BadInput(f"no command given (commands: {', '.join(COMMANDS)}; "
                           f"see '{PROG} --help')")
        if extra:
            raise BadInput(_unrecognized(args.command, extra, args))
        if args.netns is not None:  # '' is a bad name, not "the current namespace"
            from socklab import netns

            netns.enter(args.netns)
        _setup_trace(args.trace)
        code = int(args._run(args))
        sys.stdout.flush()  # a full disk is said here, not by the interpreter at exit
        return code
    except SocklabError as exc:
        if debug:
            raise
        _fail(str(exc) + _endpoint_hint(name, exc))
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except Terminated as exc:
        if debug:
            raise
        return 128 + exc.signum
    except BrokenPipeError:
        # The reader went away (socklab ... | head): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # a bug: still one line, unless --debug
        if debug:
            raise
        if _output_failed(exc):
            _fail(f"write error: standard output: {_strerror(exc)}")
            return EXIT_FAILURE
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_FAILURE
    finally:
        _catch_termination(handlers)


# Options of the classic tools that socklab spells otherwise:
# (command, word) -> (the classic spelling, socklab's).
CLASSIC_OPTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("sockets", "--inet"): ("netstat --inet", "sockets -4"),
    ("sockets", "--inet6"): ("netstat --inet6", "sockets -6"),
    ("sockets", "-A"): ("netstat -A inet|inet6|unix", "sockets -4|-6|-x"),
    ("sockets", "--protocol"): ("netstat --protocol=inet", "sockets -4"),
    ("sockets", "-f"): ("ss -f inet|inet6|unix", "sockets -4|-6|-x"),
    ("sockets", "--family"): ("ss --family=inet", "sockets -4"),
    ("route", "-n"): ("route -n", "route --style route"),
    ("route", "-6"): ("route -6 -n", "route --style route -6"),
    ("link", "-a"): ("ifconfig -a", "link --style ifconfig"),
    ("neigh", "-an"): ("arp -an", "neigh --style arp"),
    ("neigh", "-n"): ("arp -n", "neigh --style arp"),
    ("sysctl", "-p"): ("sysctl -p FILE", "sysctl -w KEY=VALUE for each line of FILE"),
}


def _unrecognized(command: str, extra: list[str], args: argparse.Namespace) -> str:
    """The usage error for words the command does not know, pointing at its own help,
    with the socklab spelling of a classic option or of ``nc HOST PORT``."""
    hints = []
    for word in extra:
        classic = CLASSIC_OPTIONS.get((command, word.split("=", 1)[0]))
        if classic is not None:
            hints.append(f"{classic[0]} is {PROG} {classic[1]}")
    endpoint = getattr(args, "endpoint", None)
    if (command in ("connect", "send") and isinstance(endpoint, str) and ":" not in endpoint
            and len(extra) == 1 and _digits(extra[0])):
        hints.append(f"nc HOST PORT is {PROG} {command} tcp:{endpoint}:{extra[0]}")
    hints.append(f"see '{PROG} {command} --help'")
    return f"unrecognized arguments: {' '.join(extra)} ({'; '.join(hints)})"


_ENDPOINT_COMMANDS = ("connect", "listen", "relay", "send", "receive")


def _endpoint_hint(command: str | None, exc: SocklabError) -> str:
    """``listen 8080`` -> `` (did you mean tcp::8080?)``: nc's spellings of an endpoint,
    in socklab's grammar. Empty when the error is not such a spelling."""
    from socklab.errors import BadAddress

    if command not in _ENDPOINT_COMMANDS or not isinstance(exc, BadAddress):
        return ""
    text = exc.text
    if _digits(text) and 0 < int(text) < 65536:
        spelled = f"tcp::{text}" if command in ("listen", "receive") else f"tcp:localhost:{text}"
    else:
        host, sep, port = text.rpartition(":")
        if not (sep and host and _digits(port)) or (":" in host.strip("[]") and \
                not host.startswith("[")):
            return ""
        spelled = f"tcp:{host}:{port}"
    return f" (did you mean {spelled}?)"


def _output_failed(exc: Exception) -> bool:
    """Whether ``exc`` is standard output refusing what was written: closed (``>&-``:
    Python then sets sys.stdout to None) or a full disk or quota (``>/dev/full``; the
    files socklab writes itself say their own errors, so these errnos are stdout's).
    Said as coreutils say it (``write error: ...``), exit 1, instead of a bug's line."""
    import errno

    if sys.stdout is None:
        return isinstance(exc, AttributeError)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _strerror(exc: Exception) -> str:
    if sys.stdout is None:
        return "Bad file descriptor (it is closed)"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def _fail(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
