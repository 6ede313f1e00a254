"""Shared fixtures: free ports, UNIX paths, abstract names, network namespaces.

Privilege rule: a test that needs root (or a system tool) skips with the
reason on an ordinary machine, but when ``CI`` is set and the process is
root, every skip is turned into a failure (``pytest_runtest_makereport``
below): in CI nothing may silently not run. One exemption: a test marked
``needs_kernel_feature`` probes the running kernel for a driver (dummy, vlan,
gre ...) and skips with the kernel's own refusal when it was built without it;
no privilege or tool can make that run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from helpers import Listener, ci_as_root, need_root, need_tool

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _stop_leftover_listeners() -> Iterator[None]:
    """A test that fails half-way leaves its `socklab listen` running: stop it here,
    so that its process and pipes are not reported against a later test."""
    yield
    for srv in list(Listener.running):
        srv.kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # a test marked needs_kernel_feature skips when the kernel lacks the feature it
    # probes for (the reason is the kernel's own error): no setup can make it run
    if (report.skipped and ci_as_root() and not hasattr(report, "wasxfail")
            and item.get_closest_marker("needs_kernel_feature") is None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI as root, which is not allowed: {reason}"


# -- sockets ------------------------------------------------------------------

@pytest.fixture
def free_port() -> Callable[[str], int]:
    """A function giving a TCP port the kernel just found free on ``host`` (a hint: bind 0
    yourself when you can)."""

    def pick(host: str = "127.0.0.1") -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            return int(s.getsockname()[1])

    return pick


@pytest.fixture
def unix_path(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """A function giving a fresh path for a UNIX socket (short: sun_path is 108 bytes)."""
    base = tmp_path_factory.mktemp("sock")

    def make(name: str = "s") -> str:
        path = str(base / f"{name}-{uuid.uuid4().hex[:8]}")
        assert len(path) < 100, path
        return path

    return make


@pytest.fixture
def abstract_name() -> Callable[[], str]:
    """A function giving a unique abstract socket name (no leading NUL)."""
    return lambda: f"socklab-test-{os.getpid()}-{uuid.uuid4().hex[:12]}"


# -- network namespaces --------------------------------------------------------

@dataclass
class Netns:
    """A fresh named network namespace with loopback up."""

    name: str

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` in a thread inside the namespace; sockets it makes belong there."""
        from socklab.kernel import netns

        return netns.run_in(self.name, fn, *args, **kwargs)

    def ip(self, *args: str) -> str:
        """``ip -n NAME ARGS``; returns stdout, raises on failure."""
        return subprocess.run(["ip", "-n", self.name, *args], check=True, capture_output=True,
                              text=True).stdout

    def exec(self, *cmd: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (``ip netns exec``)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], check=check,
                              capture_output=True, text=True, **kw)

    def popen(self, *cmd: str, **kw: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)


@contextlib.contextmanager
def make_netns(prefix: str = "sl") -> Iterator[Netns]:
    need_root("needs root to create network namespaces")
    need_tool("ip")
    name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True,
                       capture_output=True)
        yield Netns(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def netns() -> Iterator[Netns]:
    """A fresh network namespace for one test (root only; see the privilege rule)."""
    with make_netns() as ns:
        yield ns


@pytest.fixture
def netns_factory() -> Iterator[Callable[[], Netns]]:
    """Several fresh namespaces for one test (labs with hosts and routers)."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(make_netns())


# -- the host is never changed ---------------------------------------------------

# What a test could leave behind on the host: its links, addresses, routes of every
# table, rules, static neighbours and nftables ruleset, read by the real tools before
# the session and after it. A difference fails the run (a test made a change outside
# the namespaces it made itself). Counters, timers and learned state are left out.
HOST_STATE = {
    "links": ["ip", "-j", "link", "show"],
    "addresses": ["ip", "-j", "addr", "show"],
    "routes": ["ip", "-j", "route", "show", "table", "all"],
    "routes6": ["ip", "-j", "-6", "route", "show", "table", "all"],
    "rules": ["ip", "-j", "rule", "show"],
    "rules6": ["ip", "-j", "-6", "rule", "show"],
    "static neighbours": ["ip", "-j", "neigh", "show", "nud", "permanent"],
    "nftables": ["nft", "-j", "list", "ruleset"],
}
_VOLATILE = {"expires", "cacheinfo", "valid_life_time", "preferred_life_time", "operstate",
             "linkmode", "group", "txqlen", "stats64", "used", "confirmed", "updated",
             "probes", "handle", "metainfo"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if k not in _VOLATILE}
    if isinstance(value, list):
        return sorted((_stable(v) for v in value), key=repr)
    return value


def _host_state() -> dict[str, Any]:
    import json
    import shutil

    state: dict[str, Any] = {}
    for name, argv in HOST_STATE.items():
        if shutil.which(argv[0]) is None and not os.access(f"/usr/sbin/{argv[0]}", os.X_OK):
            continue
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            state[name] = _stable(json.loads(proc.stdout))
    return state


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.geteuid() == 0:
        session.config.stash[_HOST_KEY] = _host_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_HOST_KEY, None)
    if before is None:
        return
    after = _host_state()
    changed = [name for name in HOST_STATE if before.get(name) != after.get(name)]
    if changed:
        import sys

        sys.stderr.write(f"\nthe tests changed the host: {', '.join(changed)}\n")
        for name in changed:
            sys.stderr.write(f"  {name} before: {before.get(name)}\n  {name} after:  "
                             f"{after.get(name)}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_HOST_KEY = pytest.StashKey[dict[str, Any]]()
