"""Imports flow one way, and only the kernel edge talks to the OS.

Outside ``socklab/kernel/``, no module may create sockets, run programs or
open files. ``import socket`` for constants (AF_INET ...) is fine. The kernel
edge imports no room above it (cli, stack, socktable, talk, probe, capture,
filter, lab). The CLI (``socklab/cli/``) may write to stdout/stderr but never
imports ``socklab.kernel``: it reaches the kernel only through the library
(``socklab.stack``, ``socklab.socktable``, ``socklab.talk``, ``socklab.probe``
and the package root). The talk commands hold no socket logic: no ``select``,
``setsockopt``, ``fork`` or ``ssl`` in ``cmd_connect``, ``cmd_listen``,
``cmd_relay``.
"""

import ast
from pathlib import Path

import socklab

PACKAGE = Path(socklab.__file__).parent
FORBIDDEN_SOCKET_CALLS = {"socket", "socketpair", "create_connection", "create_server", "fromfd"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        yield rel, ast.parse(path.read_text(), rel)


def _violations(rel, tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any(n and n.split(".")[0] in {"subprocess", "ctypes"} for n in names):
                yield f"{rel}:{node.lineno} imports {names}"
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "open":
                yield f"{rel}:{node.lineno} calls open()"
            if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                    and f.value.id in {"socket", "_socket"} and f.attr in FORBIDDEN_SOCKET_CALLS):
                yield f"{rel}:{node.lineno} calls socket.{f.attr}()"


def test_only_the_kernel_edge_does_io():
    bad = []
    for rel, tree in _modules():
        if rel.startswith("kernel/"):
            continue
        bad.extend(_violations(rel, tree))
    assert bad == []


def test_kernel_edge_does_not_import_upwards():
    for rel, tree in _modules():
        if not rel.startswith("kernel/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(UPPER_ROOMS), rel


UPPER_ROOMS = ("socklab.cli", "socklab.stack", "socklab.talk", "socklab.probe",
               "socklab.socktable", "socklab.capture", "socklab.filter", "socklab.lab")


def _kernel_imports(rel, tree):
    """Every import of socklab.kernel in any spelling: ``import socklab.kernel.x``,
    ``from socklab.kernel import x``, ``from socklab.kernel.x import y``,
    ``from socklab import kernel``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        if any(n == "socklab.kernel" or n.startswith("socklab.kernel.") for n in names):
            yield f"{rel}:{node.lineno} imports socklab.kernel"


def test_the_kernel_imports_checker_sees_every_spelling():
    for text in ("import socklab.kernel.sock", "from socklab.kernel import procfs",
                 "from socklab.kernel.netns import enter", "from socklab import kernel",
                 "def f():\n    from socklab.kernel import sock as ksock"):
        assert list(_kernel_imports("x.py", ast.parse(text))), text
    for text in ("import socklab", "from socklab.talk import net", "import socklab.kernelish"):
        assert not list(_kernel_imports("x.py", ast.parse(text))), text


def test_the_cli_does_not_import_the_kernel_edge():
    bad = []
    for rel, tree in _modules():
        if rel.startswith("cli/"):
            bad.extend(_kernel_imports(rel, tree))
    assert bad == []


TALK_COMMANDS = ("cli/cmd_connect.py", "cli/cmd_listen.py", "cli/cmd_relay.py")
SOCKET_MODULES = ("select", "selectors", "ssl")
SOCKET_CALLS = ("select", "setsockopt", "getsockopt", "fork", "wrap_bio", "wrap_socket")


def test_the_talk_commands_hold_no_socket_logic():
    """They parse arguments, call socklab.talk and render: no import of select,
    selectors or ssl, no call to select(), setsockopt(), getsockopt(), fork()."""
    bad = []
    for rel, tree in _modules():
        if rel not in TALK_COMMANDS:
            continue
        for node in ast.walk(tree):
            word = None
            if isinstance(node, ast.Import):
                word = next((a.name for a in node.names
                             if a.name.split(".")[0] in SOCKET_MODULES), None)
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in SOCKET_MODULES:
                    word = node.module
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name in SOCKET_CALLS:
                    word = f"{name}()"
            if word is not None:
                bad.append(f"{rel}:{node.lineno} {word}")
    assert bad == []
