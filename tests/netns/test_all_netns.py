"""`sockets --all-netns` and `--netns NAME` while namespaces come and go, and without root.

Rules checked: a namespace that vanishes during a listing is skipped (said with
--debug) and the listing goes on; entering a namespace that vanished is
NotFound (exit 2); the current namespace is read without entering it, under
its own name (or "" when it has none), so that an unprivileged user sees it,
and the namespaces it may not enter are named on stderr with CAP_SYS_ADMIN.
Only namespaces these tests create are changed, and all are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from helpers import SOCKLAB, need_tool, run_cli

from socklab.errors import NotFound, SocklabError
from socklab.kernel import netns as knetns

pytestmark = pytest.mark.privileged

NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def _inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def _listen() -> socket.socket:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    return srv


class _Churn:
    """A thread adding and deleting namespaces (named ones with `ip netns`, and
    unnamed ones that live as long as an `unshare --net` process), at most
    ``rounds`` times and ``seconds`` long; every one it made is gone after
    :meth:`stop`."""

    def __init__(self, rounds: int = 400, seconds: float = 120) -> None:
        self.prefix = f"slchurn-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.rounds, self.seconds = rounds, seconds
        self.done = threading.Event()
        self.names: set[str] = set()
        self.made = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        for i in range(self.rounds):
            if self.done.is_set() or time.monotonic() > deadline:
                return
            name = f"{self.prefix}-{i}"
            self.names.add(name)
            subprocess.run(["ip", "netns", "add", name], capture_output=True)
            lone = subprocess.Popen(["unshare", "--net", "--", "sleep", "0.02"])
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            self.names.discard(name)
            lone.wait(timeout=10)
            self.made += 1

    def __enter__(self) -> _Churn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=60)
        for name in list(self.names):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        left = [n for n in knetns.named() if n.startswith(self.prefix)]
        assert not left, f"namespaces left behind: {left}"


def test_all_netns_goes_on_while_namespaces_come_and_go():
    need_tool("ip", "unshare")
    with _Churn() as churn:
        results = [run_cli("sockets", "-a", "--all-netns", *(["--debug"] if i % 2 else []))
                   for i in range(30)]
    assert churn.made > 0  # the namespaces did change under the listings
    for proc in results:
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        assert "internal error" not in err and "Traceback" not in err, err
        # the only words on stderr: --debug's, saying what was skipped and from where
        assert all(line.startswith("socklab: debug: ") for line in err.splitlines()), err


def test_json_listing_goes_on_while_namespaces_come_and_go():
    need_tool("ip", "unshare")
    with _Churn() as churn:
        results = [run_cli("--json", "sockets", "-t", "--all-netns") for _ in range(15)]
    assert churn.made > 0
    for proc in results:
        assert proc.returncode == 0, proc.stderr.decode()
        assert isinstance(json.loads(proc.stdout), list)


def test_vanished_named_namespace_is_skipped_and_told(netns_factory):
    a, b = netns_factory(), netns_factory()
    skipped: list[tuple[str, SocklabError]] = []
    spaces = knetns.each(lambda label, exc: skipped.append((label, exc)))
    next(spaces)  # the current one: every() has looked at all of them by now
    subprocess.run(["ip", "netns", "del", a.name], check=True, capture_output=True)
    labels = [label for label, _enter in spaces]
    assert a.name not in labels and b.name in labels
    assert [(lb, type(e)) for lb, e in skipped if lb == a.name] == [(a.name, NotFound)]
    assert "no such namespace" in str(skipped[0][1])


def test_vanished_process_namespace_is_skipped_and_told():
    need_tool("unshare")
    lone = subprocess.Popen(["unshare", "--net", "--", "sleep", "60"])
    try:
        label = f"pid:{lone.pid}"
        deadline = time.monotonic() + 10
        while not any(ns.label == label for ns in knetns.every()):  # unshare has run
            assert time.monotonic() < deadline, "unshare --net made no namespace"
            time.sleep(0.01)
        skipped: list[tuple[str, SocklabError]] = []
        spaces = knetns.each(lambda lb, exc: skipped.append((lb, exc)))
        next(spaces)
        lone.kill()
        lone.wait()
        labels = [lb for lb, _enter in spaces]
    finally:
        lone.kill()
        lone.wait()
    assert label not in labels
    assert (label, NotFound) in [(lb, type(e)) for lb, e in skipped]


@contextlib.contextmanager
def _fake_netns_file() -> Iterator[str]:
    """A /run/netns name with no namespace mounted on it: what `ip netns add`
    leaves for a moment before mounting, and `ip netns del` after unmounting."""
    name = f"slfake-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    full = os.path.join(knetns.NETNS_RUN_DIR, name)
    os.makedirs(knetns.NETNS_RUN_DIR, exist_ok=True)
    with open(full, "x"):
        pass
    try:
        yield name
    finally:
        os.unlink(full)


def test_entering_a_namespace_being_made_or_deleted_is_not_found():
    if os.geteuid() != 0:
        pytest.skip("needs root to write /run/netns")
    with _fake_netns_file() as name:
        with pytest.raises(NotFound, match="no such namespace"):
            knetns.enter(name)
        proc = run_cli("--netns", name, "sockets", "-t")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.decode() == (f"socklab: error: network namespace {name!r}: "
                                        "no such namespace\n")
        # --all-netns sees the name but no namespace behind it: skipped
        listed = run_cli("sockets", "-t", "--all-netns", "--debug")
        assert listed.returncode == 0, listed.stderr
        assert (f"socklab: debug: skipped, gone during the listing: network namespace "
                f"{name!r}: no such namespace\n") in listed.stderr.decode()


def test_entering_a_deleted_namespace_is_not_found():
    with pytest.raises(NotFound):
        knetns.open_path(f"{knetns.NETNS_RUN_DIR}/slnone-{uuid.uuid4().hex}", "slnone")


def test_current_namespace_has_its_own_label_not_a_pid(netns):
    """Root, in a named namespace: its records carry its name; in the initial
    one (no name): "" in the records, "-" in the table."""
    inside = netns.run(_listen)
    here = _listen()
    try:
        proc = run_cli("--netns", netns.name, "--json", "sockets", "-tl", "--all-netns")
        assert proc.returncode == 0, proc.stderr
        tags = {r["inode"]: r["netns"] for r in json.loads(proc.stdout)}
        assert tags[_inode(inside)] == netns.name
        assert tags[_inode(here)].startswith("pid:") or tags[_inode(here)] == ""
        proc = run_cli("--json", "sockets", "-tl", "--all-netns")
        assert proc.returncode == 0, proc.stderr
        tags = {r["inode"]: r["netns"] for r in json.loads(proc.stdout)}
        assert tags[_inode(here)] == "" and tags[_inode(inside)] == netns.name
        table = run_cli("sockets", "-tl", "--all-netns").stdout.decode().splitlines()
        port = here.getsockname()[1]
        (row,) = [line.split() for line in table if line.split()[3] == f"127.0.0.1:{port}"]
        assert row[-1] == "-"
    finally:
        inside.close()
        here.close()


def test_all_netns_as_nobody_reads_its_own_and_names_the_others(netns_factory):
    """Unprivileged: no setns() for its own namespace (read under its name),
    the namespaces it may not enter named on stderr with CAP_SYS_ADMIN."""
    need_tool("setpriv")
    mine, other = netns_factory(), netns_factory()
    inside, elsewhere = mine.run(_listen), other.run(_listen)
    try:
        proc = mine.exec(*NOBODY, *SOCKLAB, "--json", "sockets", "-tl", "--all-netns",
                         check=False, cwd="/tmp")
        assert proc.returncode == 0, proc.stderr
        tags = {r["inode"]: r["netns"] for r in json.loads(proc.stdout)}
        assert tags == {_inode(inside): mine.name}
        (line,) = [x for x in proc.stderr.splitlines() if other.name in x]
        assert line.startswith("socklab: warning: ") and "CAP_SYS_ADMIN" in line, line
        assert mine.name not in proc.stderr
        # the table too, with the current namespace under its name
        proc = mine.exec(*NOBODY, *SOCKLAB, "sockets", "-tl", "--all-netns", check=False,
                         cwd="/tmp")
        assert proc.returncode == 0, proc.stderr
        rows = [line.split() for line in proc.stdout.splitlines()[1:]]
        assert [r[-1] for r in rows] == [mine.name]
        assert other.name in proc.stderr
    finally:
        inside.close()
        elsewhere.close()


def test_library_all_netns_as_nobody_skips_with_missing_privilege(netns_factory):
    need_tool("setpriv")
    mine, other = netns_factory(), netns_factory()
    inside = mine.run(_listen)
    inode = _inode(inside)
    code = (
        "import json, socklab\n"
        "skipped = []\n"
        "recs = socklab.sockets('tcp', listening=True, all_netns=True,\n"
        "                       skipped=lambda lb, e: skipped.append((lb, type(e).__name__)))\n"
        "print(json.dumps([[r.inode, r.netns] for r in recs] + skipped))\n"
    )
    try:
        proc = mine.exec(*NOBODY, SOCKLAB[0], "-c", code, check=False, cwd="/tmp")
    finally:
        inside.close()
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert [inode, mine.name] in got
    assert [other.name, "MissingPrivilege"] in got
    assert not [x for x in got if x[0] == mine.name]  # its own was read, not skipped


def test_a_name_with_a_space_stays_one_table_cell():
    need_tool("ip")
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    name = f"slodd-{os.getpid()}-{uuid.uuid4().hex[:6]} x"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        inside = knetns.run_in(name, _listen)
        try:
            port = inside.getsockname()[1]
            proc = run_cli("sockets", "-tl", "--all-netns")
            assert proc.returncode == 0, proc.stderr
            (line,) = [x for x in proc.stdout.decode().splitlines() if f"127.0.0.1:{port} " in x]
            assert line.endswith(f" {name!r}")
            proc = run_cli("--json", "sockets", "-tl", "--all-netns")
            tags = {r["inode"]: r["netns"] for r in json.loads(proc.stdout)}
            assert tags[_inode(inside)] == name
        finally:
            inside.close()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_netns_option_on_a_namespace_coming_and_going_is_ok_or_not_found():
    """`--netns NAME` while NAME is added and deleted again and again: each run
    lists it (exit 0) or says it is not there (exit 2, one line), never
    "Invalid argument" nor an internal error."""
    need_tool("ip")
    name = f"slflip-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    done = threading.Event()

    def flip() -> None:
        deadline = time.monotonic() + 120
        for _ in range(1000):
            if done.is_set() or time.monotonic() > deadline:
                return
            subprocess.run(["ip", "netns", "add", name], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        results = [run_cli("--netns", name, "sockets", "-t") for _ in range(30)]
    finally:
        done.set()
        thread.join(timeout=60)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    assert name not in knetns.named()
    for proc in results:
        err = proc.stderr.decode()
        if proc.returncode == 0:
            assert err == ""
        else:
            assert (proc.returncode, err) == (2, f"socklab: error: network namespace "
                                                 f"{name!r}: no such namespace\n"), err
