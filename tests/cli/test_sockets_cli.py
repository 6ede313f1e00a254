"""socklab sockets from the command line: JSON, summary, owners, errors."""

import json
import os
import socket

import pytest
from helpers import run_cli

import socklab
from socklab.cli import main as cli


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s
    s.close()


def test_json_records(listener, capsys):
    port = listener.getsockname()[1]
    assert cli.main(["--json", "sockets", "-tl", "--sport", str(port), "-p"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert (rec["state"], rec["local_port"], rec["inode"]) == (
        "LISTEN", port, os.fstat(listener.fileno()).st_ino)
    assert {"pid": os.getpid(), "fd": listener.fileno()}.items() <= rec["processes"][0].items()


def test_table_has_ss_columns_and_owner(listener, capsys):
    port = listener.getsockname()[1]
    assert cli.main(["sockets", "-tlp", "--sport", str(port)]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["State", "Recv-Q", "Send-Q", "Local"]
    assert f"127.0.0.1:{port}" in line and f"pid={os.getpid()},fd={listener.fileno()}" in line


def test_summary_counts(listener, capsys):
    assert cli.main(["--json", "sockets", "-s", "-t"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tcp"]["states"]["LISTEN"] >= 1


def test_debug_names_the_source(capsys):
    assert cli.main(["--debug", "sockets", "-t", "--source", "proc"]) == 0
    assert "tcp/inet sockets from /proc/net/tcp" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["sockets", "--state", "bogus"], ["sockets", "--sport", "99999"],
    ["sockets", "--src", "1.2.3.4/99"], ["sockets", "-4", "-6"], ["sockets", "--source", "x"],
])
def test_bad_input_exits_2_with_one_line(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1 and proc.stdout == b""


def test_fast_json_equals_the_json_module():
    import json

    from socklab.cli.sockets_json import inet_json, record_json
    from socklab.socktable.model import Process, SocketRecord, Timer

    samples = [
        SocketRecord("tcp", "inet", "ESTAB", 0, 5, "127.0.0.1", 80, "127.0.0.1", 4000, 12, 0, 0,
                     None, None, 7),
        SocketRecord("u_str", "unix", "LISTEN", None, None, '/tmp/we"ird\\\\path\n', None, "*",
                     None, 13, None, 0, 0, None, None, "ns-1"),
        SocketRecord("nl", "netlink", "UNCONN", None, None, "rtnl", -1, "*", None, 4,
                     protocol="rtnl"),
        SocketRecord("tcp", "inet6", "LISTEN", 0, 128, "::", 22, "::", 0, 9, 0,
                     processes=(Process(1, "sshd", 3),), timer=Timer("on", 200, 0)),
        SocketRecord("udp", "inet6", "UNCONN", 0, 0, "fe80::1", 5353, "::", 0, 10, 0, 2, None,
                     None, 1 << 40),
        SocketRecord("tcp", "inet", "LISTEN", 0, 0, "0.0.0.0", 22, "0.0.0.0", 0, 11, 0, 0),
        SocketRecord("tcp", "inet", "ESTAB", None, None, "10.0.0.1", 22, "10.0.0.2", 1, 11, None),
        SocketRecord("tcp", "inet", "ESTAB", 1, 2, "10.0.0.1", 22, "10.0.0.2", 1, 11, 0,
                     netns="blue"),
        SocketRecord("tcp", "inet6", "LISTEN", 0, 5, "::", 22, "::", 0, 14, 0, 0, None, None,
                     8, v6only=True),
        SocketRecord("udp", "inet6", "UNCONN", 0, 0, "::", 53, "::", 0, 15, 0, 0, None, None,
                     9, v6only=False),
    ]
    live = list(socklab.sockets(all_states=True))  # every kind, as the kernel lists them
    for r in samples + live:
        assert json.loads(record_json(r)) == r.as_dict()
        assert record_json(r) == json.dumps(r.as_dict())
    # the batch path: TCP and UDP records from sock_diag, nothing added, no v6-only flag
    lean = [r for r in live + samples[:1] + samples[4:6]
            if r.netid in ("tcp", "udp") and r.cookie is not None and r.v6only is None]
    assert len(lean) >= 3
    for r in lean:
        assert inet_json(r) == json.dumps(r.as_dict())


def test_json_listing_picks_the_batch_path_only_where_it_holds(capsys):
    """write() puts a batch of sock_diag TCP/UDP records the lean way, and any
    other batch (a /proc record without queues, a UNIX one) the general way:
    the text equals the json module's either way."""
    from socklab.cli.sockets_json import write
    from socklab.socktable.model import SocketRecord

    tcp = [r for r in socklab.sockets("tcp", "udp", all_states=True) if r.cookie is not None]
    flagged = SocketRecord("tcp", "inet6", "LISTEN", 0, 5, "::", 22, "::", 0, 14, 0, 0, None,
                           None, 8, v6only=False)
    from_proc = SocketRecord("tcp", "inet", "ESTAB", None, None, "10.0.0.1", 22, "10.0.0.2",
                             1, 11, None)
    unix = SocketRecord("u_str", "unix", "LISTEN", 0, 0, '/tmp/a"b', None, "*", None, 13, 0,
                        0, 0, None, 5)
    for records in (tcp, [*tcp, from_proc], [unix, *tcp], [*tcp, flagged], []):
        write(records, plain=True)
        objects = [json.dumps(r.as_dict()) for r in records]
        expected = "[\n  " + ",\n  ".join(objects) + "\n]\n" if records else "[]\n"
        assert capsys.readouterr().out == expected


def test_rows_formatted_in_batches_are_formatted_again_when_a_later_cell_is_wider(capsys):
    """_write_rows pads with the widths seen so far, 4,096 rows at a time; a wider
    cell (or a '-' queue from /proc) in a later batch redoes the earlier ones, so
    every line has the final widths."""
    from socklab.cli.cmd_sockets import _write_rows

    rows = [("tcp", "ESTAB", 0, 0, f"10.0.0.1:{1000 + i}", "10.0.0.2:80") for i in range(5000)]
    rows[4500] = ("tcp", "CLOSE-WAIT", 123456, None, "[2001:db8::1]:443", "[::1]:5")
    columns = [("Netid", 0, False), ("State", 1, False), ("Recv-Q", 2, True),
               ("Send-Q", 3, True), ("Local Address:Port", 4, False),
               ("Peer Address:Port", 5, False)]
    _write_rows(iter(rows), columns, hidden={0}, header=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5001
    fmt = "%-10s %6s %6s %-18s %s"
    assert lines[0] == fmt % ("State", "Recv-Q", "Send-Q", "Local Address:Port",
                              "Peer Address:Port")
    assert lines[1] == fmt % ("ESTAB", 0, 0, "10.0.0.1:1000", "10.0.0.2:80")
    assert lines[4501] == fmt % ("CLOSE-WAIT", 123456, "-", "[2001:db8::1]:443", "[::1]:5")
    assert lines[5000] == fmt % ("ESTAB", 0, 0, "10.0.0.1:5999", "10.0.0.2:80")
