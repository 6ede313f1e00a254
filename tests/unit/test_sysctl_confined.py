"""sysctl keys name files under /proc/sys and nothing else (issue: sysctl read and
wrote any file through ``net/../../../etc/shadow``)."""

import contextlib
import os
import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socklab.errors import BadInput, SocklabError
from socklab.kernel import procfs
from socklab.stack import sysctl

SECRET = "secret-outside-the-tree"


def _text(path: str) -> str:
    with open(path) as f:
        return f.read()


@pytest.fixture(scope="module")
def proc_root(tmp_path_factory):
    """A fake /proc: sys/net/ipv4/{ip_forward,conf/eth0.1/forwarding}, a secret file
    beside sys/, and symlinks inside sys/ that point out of it."""
    root = tmp_path_factory.mktemp("proc")
    conf = root / "sys" / "net" / "ipv4" / "conf" / "eth0.1"
    conf.mkdir(parents=True)
    (conf / "forwarding").write_text("0\n")
    (root / "sys" / "net" / "ipv4" / "ip_forward").write_text("0\n")
    (root / "secret").write_text(SECRET)
    (root / "etc").mkdir()
    (root / "etc" / "shadow").write_text(SECRET)
    os.symlink(root / "secret", root / "sys" / "net" / "ipv4" / "leak")
    os.symlink(root / "etc", root / "sys" / "net" / "etcdir")
    return str(root)


ESCAPES = [
    "net/../../../etc/shadow", "net/../secret", "net/../../secret", "../secret",
    "../../etc/passwd", "/etc/shadow", "net/./../secret", "net//ipv4/ip_forward",
    "net..ipv4", "..", ".", "", "  ", "net.ipv4./..", "net.ipv4.//.x", "net/ipv4/../../secret",
    "net/../../../etc/*", "net/../*", "net.ipv4.\x00", "net/\x00/x", "net.ipv4.\udcff",
]


@pytest.mark.parametrize("key", ESCAPES)
def test_escaping_keys_are_refused(proc_root, key):
    with pytest.raises(BadInput):
        sysctl.read(key, proc_root=proc_root)
    with pytest.raises(BadInput):
        sysctl.write(key, "PWNED", proc_root=proc_root)
    assert _text(f"{proc_root}/secret") == SECRET


@pytest.mark.parametrize("key", ["net.ipv4.leak", "net/ipv4/leak", "net.etcdir.shadow",
                                 "net/etcdir/shadow", "net/etcdir"])
def test_symlinks_out_of_the_tree_are_refused(proc_root, key):
    with pytest.raises(SocklabError):
        sysctl.read(key, proc_root=proc_root)
    with pytest.raises(SocklabError):
        sysctl.write(key, "PWNED", proc_root=proc_root)
    assert _text(f"{proc_root}/secret") == SECRET
    assert _text(f"{proc_root}/etc/shadow") == SECRET


def test_listings_skip_symlinks_out_of_the_tree(proc_root):
    values = [s.text for s in sysctl.read("net", proc_root=proc_root)]
    values += [s.text for s in sysctl.read("net.*", proc_root=proc_root)]
    values += [s.text for s in sysctl.read_all(proc_root=proc_root)]
    assert values and SECRET not in values


def test_keys_inside_the_tree_still_work(proc_root):
    assert sysctl.read("net.ipv4.conf.eth0/1.forwarding", proc_root=proc_root)[0].value == 0
    assert sysctl.read("net/ipv4/conf/eth0.1/forwarding", proc_root=proc_root)[0].value == 0
    assert sysctl.read("net/ipv4/", proc_root=proc_root)  # a shell-completed directory
    assert sysctl.write("net.ipv4.ip_forward", "1", proc_root=proc_root).value == 1
    assert [s.key for s in sysctl.read("net.ipv4.ip_*", proc_root=proc_root)] == \
        ["net.ipv4.ip_forward"]


def test_values_that_cannot_be_written(proc_root):
    for value in ("\udcff", "1\x002"):
        with pytest.raises(BadInput):
            sysctl.write("net.ipv4.ip_forward", value, proc_root=proc_root)
    with pytest.raises(BadInput, match="glob"):
        sysctl.write("net.ipv4.*", "1", proc_root=proc_root)


def test_procfs_checks_the_resolved_path(proc_root):
    with pytest.raises(BadInput):
        procfs.sysctl_file("net/ipv4/leak", proc_root)
    with pytest.raises(BadInput):
        procfs.read_sysctl("net/../../secret", proc_root)


keys = st.lists(st.sampled_from(["net", "ipv4", "conf", "eth0", "..", ".", "", "/", "*",
                                 "?", "[", "etc", "secret", "leak", "etcdir", "\x00", "x.y"]),
                max_size=8).flatmap(
    lambda parts: st.sampled_from([".", "/"]).map(lambda sep: sep.join(parts)))


@settings(max_examples=400, deadline=None)
@given(key=st.one_of(keys, st.text(max_size=24)))
def test_no_generated_key_leads_out_of_proc_sys(proc_root, key):
    try:
        path = sysctl.key_to_path(key)
    except BadInput:
        return
    assert posixpath.normpath(f"/proc/sys/{path}").startswith("/proc/sys/")
    try:
        settings_ = sysctl.read(key, proc_root=proc_root)
    except SocklabError:
        pass
    else:
        assert SECRET not in [s.text for s in settings_]
    with contextlib.suppress(SocklabError):
        sysctl.write(key, "0", proc_root=proc_root)  # "0": files inside stay readable
    assert _text(f"{proc_root}/secret") == SECRET
    assert _text(f"{proc_root}/etc/shadow") == SECRET


@pytest.mark.parametrize("key, current, value, expected", [
    ("net.ipv4.ip_forward", "0", "1", "1"),
    ("net.ipv4.ip_forward", "0", " 1\n", "1"),
    ("net.core.somaxconn", "4096", "-1", "-1"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "1024 65000", "1024\t65000"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "2000 2000", "2000\t2000"),
    ("net.ipv4.ping_group_range", "1\t0", "1 0", "1\t0"),  # nobody: high below low is meant
    ("net.ipv4.tcp_congestion_control", "cubic", "reno", "reno"),
])
def test_a_written_value_fits_the_key(key, current, value, expected):
    assert sysctl.check_value(key, current, value) == expected


@pytest.mark.parametrize("key, current, value", [
    ("net.ipv4.ip_forward", "0", "yes"),
    ("net.ipv4.ip_forward", "0", "2"),  # a boolean
    ("net.ipv4.ip_forward", "0", "1 1"),
    ("net.ipv4.ip_forward", "0", ""),
    ("net.core.somaxconn", "4096", "4k"),
    ("net.core.somaxconn", "4096", "0x10"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "60999 32768"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "1024"),
    ("net.ipv4.ip_local_port_range", "32768\t60999", "0 70000"),
    ("net.ipv4.tcp_syncookies", "1", "3"),
])
def test_a_value_of_the_wrong_type_is_refused(key, current, value):
    with pytest.raises(BadInput):
        sysctl.check_value(key, current, value)


def test_write_keeps_the_old_value_and_refuses_before_writing(proc_root):
    path = os.path.join(proc_root, "sys", "net", "ipv4", "ip_forward")
    with open(path, "w") as f:
        f.write("0\n")
    with pytest.raises(BadInput, match="integer"):
        sysctl.write("net.ipv4.ip_forward", "yes", proc_root=proc_root)
    assert _text(path) == "0\n"
    done = sysctl.write("net.ipv4.ip_forward", "1", proc_root=proc_root)
    assert (done.value, done.old) == (1, "0")
    sysctl.write("net.ipv4.ip_forward", "0", proc_root=proc_root)


def test_the_snapshot_reader_follows_no_symlink(proc_root):
    found = dict(procfs.read_sysctl_subtree("net", proc_root))
    assert found["net/ipv4/ip_forward"] in ("0", "1")
    assert "net/ipv4/conf/eth0.1/forwarding" in found
    assert SECRET not in found.values()
    assert not any("leak" in p or "etcdir" in p for p in found)
