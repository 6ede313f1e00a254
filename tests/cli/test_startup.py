"""What start-up leaves out, and what it must keep: the version without argparse,
the full list of commands in ``--help``, the classic hints of a wrong command line.

Each runs socklab as its own process (python -m socklab), as a user does."""

import subprocess
import sys
from importlib.metadata import version

import pytest
from helpers import run_cli

import socklab
from socklab.cli import main as cli


def test_version_is_the_installed_one():
    assert socklab.__version__ == version("socklab")
    for argv in (["--version"], ["--json", "--version"]):
        proc = run_cli(*argv)
        assert proc.returncode == 0 and proc.stderr == b""
        assert proc.stdout.decode() == f"socklab {version('socklab')}\n"


def test_version_alone_imports_neither_argparse_nor_typing():
    code = ("import sys; from socklab.cli.main import main; rc = main(['--version']); "
            "print(rc, sorted(m for m in ('argparse', 'typing', 're', 'importlib.metadata') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert out.decode().splitlines()[-1] == "0 []"


def test_help_lists_every_command_with_its_summary():
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == b""
    text = " ".join(proc.stdout.decode().split())  # argparse wraps long summaries
    for name, (_module, summary) in cli.COMMANDS.items():
        assert f"{name} {' '.join(summary.split())}" in text, name


def test_help_of_a_command_is_built_alone_but_complete():
    proc = run_cli("sockets", "--help")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "usage: socklab sockets" in out and "--json" in out and "classic:" in out


def test_unknown_command_names_them_all():
    proc = run_cli("netstat", "-an")
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("socklab: error: unknown command 'netstat'")
    assert all(name in err for name in cli.COMMANDS)


@pytest.mark.parametrize(("argv", "hint"), [
    (["sockets", "-an", "--inet"], "netstat --inet is socklab sockets -4"),
    (["route", "-n"], "route -n is 'socklab route --style route'"),
    (["link", "-a"], "ifconfig -a is 'socklab link --style ifconfig'"),
    (["connect", "127.0.0.1", "80"], "nc HOST PORT is socklab connect tcp:127.0.0.1:80"),
])
def test_a_classic_spelling_gets_its_hint_from_a_whole_process(argv, hint):
    proc = run_cli(*argv)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and hint in err and "Traceback" not in err, err
