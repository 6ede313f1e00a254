"""Labs: small networks of hosts, switches and routers in network namespaces.

``with socklab.Lab.from_file("lab.toml") as lab:`` builds the lab and removes it
at the end of the block; ``lab.node("h1").run(["ping", "-c1", "10.0.2.10"])`` runs a
program in a node, ``lab.node("h1").call(socklab.routes)`` runs one of socklab's own
functions there. See :mod:`socklab.lab.topology` for the file and
:mod:`socklab.lab.build` for what is made and how it is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from socklab.errors import NotFound
from socklab.lab.topology import Lab as Topology
from socklab.lab.topology import parse

__all__ = ["Lab", "Node"]

T = TypeVar("T")


class Node:
    """A node of a running lab."""

    def __init__(self, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace

    def run(self, argv: list[str], timeout: float = 30.0) -> tuple[int, str]:
        """Run a program in the node: ``(exit status, output)``."""
        from socklab.kernel import labns

        return labns.run(self.namespace, argv, timeout=timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` in a thread inside the node's namespace and return its result."""
        from socklab.kernel import netns as knetns

        return knetns.run_in(self.namespace, fn, *args, **kwargs)


class Lab:
    """A lab built from a topology: ``up()``/``down()``, or a ``with`` block."""

    def __init__(self, topology: Topology, origin: str = "") -> None:
        self.topology = topology
        self.origin = origin
        self.name = topology.name

    @classmethod
    def from_file(cls, path: str) -> Lab:
        from socklab.lab import build

        return cls(*build.load(path))

    @classmethod
    def from_text(cls, text: str, source: str = "lab.toml") -> Lab:
        return cls(parse(text, source), source)

    def up(self, force: bool = False) -> Lab:
        from socklab.lab import build

        build.up(self.topology, self.origin, force)
        return self

    def down(self) -> None:
        from socklab.lab import build

        build.down(self.name)

    def node(self, name: str) -> Node:
        if name not in self.topology.nodes:
            raise NotFound(f"lab {self.name}: no node {name!r}")
        return Node(name, self.topology.namespace(name))

    def check(self, exercise: str) -> list[Any]:
        from socklab.lab import checks

        if exercise not in self.topology.exercises:
            raise NotFound(f"lab {self.name}: no exercise {exercise!r}")
        return checks.run_exercise(self.topology, exercise)

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, *_: object) -> None:
        self.down()
