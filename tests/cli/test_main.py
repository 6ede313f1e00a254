"""CLI conventions: exit codes, one-line errors, --json anywhere, --trace, tour."""

import json

import pytest
from helpers import run_cli

from socklab.cli import main as cli
from socklab.errors import EXIT_NOPERM


def test_unknown_command_is_one_line_exit_2():
    proc = run_cli("nonsense")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("socklab: error: ")
    assert "nonsense" in err and "Traceback" not in err
    assert proc.stdout == b""


def test_bad_option_is_one_line_exit_2(capsys):
    assert cli.main(["tour", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-such-option" in err


def test_library_error_reaches_user_as_one_line():
    proc = run_cli("--netns", "socklab-no-such-ns", "tour")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "socklab-no-such-ns" in err and "Traceback" not in err


def test_unexpected_exception_is_one_line_unless_debug(monkeypatch, capsys):
    from socklab.cli import tour

    def boom(*a, **k):
        raise RuntimeError("deep inside")

    monkeypatch.setattr(tour, "run", boom)
    assert cli.main(["tour"]) == 1
    err = capsys.readouterr().err
    assert err == ("socklab: error: internal error: RuntimeError: deep inside "
                   "(run with --debug for the traceback)\n")
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "tour"])


def test_interrupt_exits_130(monkeypatch):
    from socklab.cli import tour

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tour, "run", interrupted)
    assert cli.main(["tour"]) == 130


def test_missing_privilege_exits_77(monkeypatch, capsys):
    from socklab.cli import tour
    from socklab.errors import MissingPrivilege

    def refused(*a, **k):
        raise MissingPrivilege("open raw ICMP socket", "CAP_NET_RAW")

    monkeypatch.setattr(tour, "run", refused)
    assert cli.main(["tour"]) == EXIT_NOPERM == 77
    assert "CAP_NET_RAW" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--json", "tour", "--list"], ["tour", "--list", "--json"]])
def test_json_before_or_after_command(argv, capsys):
    assert cli.main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == "tcp" for r in rows)


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_help_has_example_and_classic(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and "classic:" in out


def test_top_level_help_lists_commands_without_importing_them():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in cli.COMMANDS:
        assert name in proc.stdout.decode()


@pytest.mark.parametrize("argv", [[], ["--json"], ["--trace"], ["--netns", "x"]])
def test_no_command_is_one_line_on_stderr(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("socklab: error: no command given")


def test_empty_namespace_name_is_refused_not_the_current_one():
    proc = run_cli("--netns", "", "link")
    assert proc.returncode == 2 and proc.stdout == b""
    assert "not a namespace name" in proc.stderr.decode()


@pytest.mark.parametrize(("argv", "hint"), [
    (["sockets", "-an", "--inet"], "sockets -4"),
    (["sockets", "-A", "inet"], "sockets -4|-6|-x"),
    (["route", "-n"], "route --style route"),
    (["connect", "127.0.0.1", "80"], "tcp:127.0.0.1:80"),
    (["connect", "localhost:80"], "did you mean tcp:localhost:80?"),
    (["connect", "[::1]:80"], "did you mean tcp:[::1]:80?"),
    (["listen", "8080"], "did you mean tcp::8080?"),
    (["receive", "9000", "out.bin"], "did you mean tcp::9000?"),
])
def test_classic_spellings_get_a_hint(argv, hint, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and hint in err, err


def test_usage_errors_point_at_the_commands_own_help(capsys):
    assert cli.main(["link", "--bogus"]) == 2
    assert "see 'socklab link --help'" in capsys.readouterr().err
