"""ss's process column made during the /proc pass (procfs.socket_owner_texts):
the same text as formatting socket_owners' lists, and as ss -p prints it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from helpers import need_tool

from socklab.cli.cmd_sockets import _owners_text
from socklab.kernel import procfs
from socklab.socktable import table


def test_shared_listener_text_equals_lists_and_ss():
    """A listener held at two descriptors here and at a third in a child: the
    text lists the three in ss's order (last found first), as ss prints it."""
    need_tool("ss")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    dup = os.dup(srv.fileno())
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, pass_fds=[dup])
    try:
        inode = os.fstat(srv.fileno()).st_ino
        texts = procfs.socket_owner_texts()
        lists = procfs.socket_owners()
        assert len(lists[inode]) == 3
        assert texts[inode] == _owners_text(lists[inode])
        assert f"pid={child.pid},fd={dup}" in texts[inode]
        assert f"pid={os.getpid()},fd={srv.fileno()}" in texts[inode]
        out = subprocess.run(["ss", "-Hltnp", f"( sport = :{port} )"], capture_output=True,
                             text=True, check=True).stdout.split()
        assert out[-1] == texts[inode]
        assert table.owner_texts()[inode] == texts[inode]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
        os.close(dup)
        srv.close()


def test_every_socket_of_this_process_agrees():
    """Each socket the lists name has the text of its list, and no other one."""
    a, b = socket.socketpair()
    try:
        texts = procfs.socket_owner_texts()
        lists = procfs.socket_owners()
        for sock in (a, b):
            inode = os.fstat(sock.fileno()).st_ino
            assert texts[inode] == _owners_text(lists[inode])
            assert texts[inode].startswith('users:(("')
    finally:
        a.close()
        b.close()


def test_recorded_tree(tmp_path):
    """A tree laid out as /proc: a socket shared by two processes, a file, a
    link that is not the kernel's ``socket:[N]`` and a name that is no pid."""
    for pid, comm, links in (("10", "one", {"3": "socket:[42]", "4": "/dev/null",
                                            "5": "socket:[x]"}),
                             ("20", "two", {"7": "socket:[42]", "8": "socket:[43]"}),
                             ("self", "no", {"1": "socket:[44]"})):
        (tmp_path / pid / "fd").mkdir(parents=True)
        (tmp_path / pid / "comm").write_text(comm + "\n")
        for fd, target in links.items():
            os.symlink(target, tmp_path / pid / "fd" / fd)
    texts = procfs.socket_owner_texts(str(tmp_path))
    order = [d for d in os.listdir(tmp_path) if d.isdigit()]  # the pass's order
    first, last = ('("one",pid=10,fd=3)', '("two",pid=20,fd=7)')[:: 1 if order[0] == "10"
                                                                  else -1]
    assert texts == {42: f"users:({last},{first})", 43: 'users:(("two",pid=20,fd=8))'}
    assert texts[42] == _owners_text(procfs.socket_owners(proc_root=str(tmp_path))[42])
    assert procfs.socket_owner_texts(str(tmp_path / "absent")) == {}
