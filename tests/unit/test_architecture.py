"""Imports flow one way, and only the kernel edge talks to the OS.

Outside ``socklab/kernel/``, no module may create sockets, run programs or
open files. ``import socket`` for constants (AF_INET ...) is fine. The CLI
(``socklab/cli/``) may write to stdout/stderr but calls the kernel only
through the library.
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
                assert not node.module.startswith(("socklab.cli", "socklab.stack", "socklab.talk",
                                                   "socklab.probe", "socklab.sockets")), rel
