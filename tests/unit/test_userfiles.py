"""The files a user names for socklab to write (tour --html, explain --svg, lab draw
--svg; receive and sniff -w go through the same kernel edge): a regular file is
replaced whole by a rename, but a device or a FIFO is written in place, as a shell's
``>`` writes it. Renaming over /dev/null would put a regular file in its place (it
did: ``socklab tour --html /dev/null`` as root replaced the device)."""

from __future__ import annotations

import os
import stat

from helpers import need_root

from socklab.kernel import files
from socklab.userfiles import write_whole


def test_a_regular_file_is_replaced_whole(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"old and longer")
    write_whole(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary left


def test_a_fifo_is_written_in_place_also_through_a_symlink(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer's open returns
    try:
        write_whole(str(link), b"<html>")
        assert os.read(reader, 100) == b"<html>"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link"]


def test_a_device_keeps_its_node_and_its_mode(tmp_path):
    need_root("mknod needs CAP_MKNOD")
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    os.chmod(null, 0o666)  # mknod's mode is cut by the umask
    write_whole(str(null), b"<svg/>")
    st = os.stat(null)
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    fd, tmp = files.open_temp(str(null))
    assert tmp == ""
    files.discard(fd, tmp)
    assert null.exists()
