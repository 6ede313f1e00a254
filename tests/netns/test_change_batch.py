"""socklab -batch FILE, in fresh namespaces.

Oracles: ``ip -batch`` of the same changes in a twin namespace (``ip -j`` state
equal), and ``ip -j`` afterwards for exactly the lines socklab says it applied.
A bad line exits 2 naming FILE:LINE and nothing changes; without privilege,
exit 77 and nothing changes.
"""

import json
import re

import pytest
from helpers import SOCKLAB, need_tool, run_cli
from test_change_cli import ip_state, ipj

from socklab.errors import BadInput
from socklab.stack import batch

pytestmark = pytest.mark.privileged

LAB = """\
# a small lab, as a course exercise writes it
link add v0 type veth peer name v1
link set v0 up mtu 1400
link set v1 up
addr add 10.7.0.1/24 dev v0 label v0:1   # the alias label
addr add 10.7.9.1/24 broadcast + dev v1
route add 10.8.0.0/16 via 10.7.0.254 metric 7
route add 10.9.0.0/16 dev v1 table 100
route add blackhole 192.0.2.0/24
route add 10.10.0.0/16 via 10.7.9.2   # on the network of line 6
neigh add 10.7.0.254 lladdr 02:00:00:00:00:fe dev v0
rule add priority 100 from 10.7.0.0/24 lookup 100
link add br0 type bridge
link set v1 master br0
"""


def _quiet(ns):
    """No IPv6 (its link-local addresses follow the random MACs) and an up loopback."""
    for scope in ("all", "default"):
        ns.exec("sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1")
    ns.ip("link", "set", "lo", "up")


MAC = re.compile(r"([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}")  # bridge ids print 3a:4:...


def _comparable(state):
    """ip -j state without what differs between twins: random MACs (and the bridge ids
    made of them), and the bridge's running timers."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if not (isinstance(v, str) and MAC.search(v)) and not k.endswith("_timer")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(state)


def _batch_file(tmp_path, text, name="lab.batch"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_lab_file_makes_what_ip_batch_makes(netns_factory, tmp_path):
    ours, theirs = netns_factory(), netns_factory()
    for ns in (ours, theirs):
        _quiet(ns)
    path = _batch_file(tmp_path, LAB)
    proc = run_cli("--netns", ours.name, "-batch", path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode() == f"{path}: 13 lines: applied 2-14\n"
    theirs.ip("-batch", path)
    assert _comparable(ip_state(ours)) == _comparable(ip_state(theirs))
    # the devices the file made got the indexes the kernel would have given them
    assert [(lk["ifindex"], lk["ifname"]) for lk in ipj(ours, "link")] == \
        [(lk["ifindex"], lk["ifname"]) for lk in ipj(theirs, "link")]


CONTINUED = """\
link add "v0" \\
    type veth peer name 'v1'
link set v0 \\
  mtu 1400   # a comment ends the change
addr add 10.7.0.1/24 dev "v0" label 'v0:a'
"""


def test_continued_lines_and_quoted_words_read_as_ip_batch_reads_them(netns_factory,
                                                                       tmp_path):
    """ip's getcmdline and makeargs (lib/utils.c): a backslash ending a line joins the
    next, a word in quotes loses them. The change is numbered by its first line."""
    ours, theirs = netns_factory(), netns_factory()
    for ns in (ours, theirs):
        _quiet(ns)
    path = _batch_file(tmp_path, CONTINUED)
    theirs.ip("-batch", path)
    proc = run_cli("--netns", ours.name, "-batch", path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode() == f"{path}: 3 lines: applied 1, 3, 5\n"
    assert _comparable(ip_state(ours)) == _comparable(ip_state(theirs))
    for text, problem in (("link set lo up \\\n", "1: missing continuation line"),
                          ("\nlink set 'lo up\n", "2: unterminated quoted string")):
        bad = run_cli("--netns", ours.name, "-batch", "-", input=text.encode())
        assert bad.returncode == 2
        assert bad.stderr.decode() == f"socklab: error: stdin:{problem}\n"


def test_a_tap_made_in_the_batch_can_be_named_by_the_lines_after_it(netns, tmp_path):
    _quiet(netns)
    path = _batch_file(tmp_path, "link add t0 type tap\nlink set t0 up\n"
                                 "addr add 10.3.0.1/24 dev t0\n"
                                 "route add 10.4.0.0/16 via 10.3.0.9\n")
    proc = run_cli("--netns", netns.name, "-batch", path)
    assert proc.returncode == 0, proc.stderr.decode()
    (t0,) = ipj(netns, "link", "show", "t0")
    assert t0["linkinfo"]["info_data"]["type"] == "tap" and "UP" in t0["flags"]
    (r,) = ipj(netns, "route", "show", "10.4.0.0/16")
    assert (r["gateway"], r["dev"]) == ("10.3.0.9", "t0")


@pytest.mark.parametrize("text, line, words", [
    ("link add v0 type veth peer name v1\nroute add 10.8.0.0/33 via 10.7.0.254\n", 2,
     "prefix length 33"),
    ("link add v0 type veth peer name v1\naddr add 10.7.0.1/24 dev v9\n", 2,
     "no such interface 'v9'"),
    ("link add v0 type veth peer name v1\n\n# gateway on no network of the file\n"
     "route add 10.8.0.0/16 via 10.7.0.254\n", 4, "on no connected network"),
    ("link add v0 type veth peer name v1\nlink del v0\nlink set v1 up\n", 3,
     "no such interface 'v1'"),  # a veth's peer goes with it
    ("link add v0 type veth peer name v1\nroute frob 10.0.0.0/8\n", 2, "expected a verb"),
    ("link add v0 type veth peer name v1\nfoo bar\n", 2, "unknown command 'foo'"),
    ("link add v0 type veth peer name v1\nlink add v0 type bridge\n", 2, "exists already"),
    ("link set lo up\n" + "#" * 5000 + "\n", 2, "longer than 4096"),
    ("link set lo up\nlink set l\udcffo up\n", 2, "no such interface"),
    ("link set lo up\nlink add l\udcffo type bridge\n", 2, "may not be"),
])
def test_a_bad_line_exits_2_naming_it_and_nothing_is_sent(netns, tmp_path, text, line, words):
    path = tmp_path / "bad.batch"
    path.write_bytes(text.encode(errors="surrogateescape"))
    before = ip_state(netns)
    proc = run_cli("--netns", netns.name, "-batch", str(path))
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, err
    assert err.startswith(f"socklab: error: {path}:{line}: ") and err.count("\n") == 1, err
    assert words in err
    assert ip_state(netns) == before


def _routes(n, duplicate):
    lines = [f"route add 10.{i // 256}.{i % 256}.0/24 via 10.255.0.2" for i in range(n)]
    lines[duplicate - 1] = "route add 10.255.0.0/16 dev v0"  # the kernel's own: EEXIST
    return "link set v0 up\n" + "\n".join(lines[1:]) + "\n"


def _with_v0(ns):
    ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    ns.ip("link", "set", "v0", "up")
    ns.ip("addr", "add", "10.255.0.1/16", "dev", "v0")


def _present(ns):
    return {r["dst"] for r in ipj(ns, "route", "show", "proto", "boot")}


@pytest.mark.parametrize("force", [False, True])
def test_a_refused_line_is_reported_with_exactly_the_lines_applied(netns, tmp_path, force):
    _with_v0(netns)
    path = _batch_file(tmp_path, _routes(200, duplicate=10))
    proc = run_cli("--netns", netns.name, "--json", "-batch", path, *(["-force"] if force
                                                                       else []))
    assert proc.returncode == 1, proc.stderr.decode()
    lines = json.loads(proc.stdout)["lines"]
    by_status = {}
    for o in lines:
        by_status.setdefault(o["status"], []).append(o)
    (refused,) = by_status["refused"]
    assert refused["line"] == 10 and "File exists" in refused["error"]
    applied = {o["text"].split()[2] for o in by_status["applied"] if "route" in o["text"]}
    assert applied == _present(netns)  # exactly the lines said applied, no other
    if force:
        assert set(by_status) == {"applied", "refused"}
    else:  # the buffer holding line 10 went whole (64 requests), nothing after it
        assert [o["line"] for o in by_status["applied"]] == \
            [n for n in range(1, 65) if n != 10]
        assert [o["line"] for o in by_status["not sent"]] == list(range(65, 201))


def test_several_refusals_across_buffers_each_mapped_to_its_line(netns, tmp_path):
    _with_v0(netns)
    text = _routes(150, duplicate=3).splitlines()
    for n in (64, 65, 130):  # the last of a buffer (the one asking for the ack), the first
        text[n - 1] = text[2]  # of the next, one further on: each line 3's, the kernel's own
    path = _batch_file(tmp_path, "\n".join(text) + "\n")
    proc = run_cli("--netns", netns.name, "--json", "-batch", path, "-force")
    assert proc.returncode == 1
    lines = json.loads(proc.stdout)["lines"]
    assert [o["line"] for o in lines if o["status"] == "refused"] == [3, 64, 65, 130]
    assert len(_present(netns)) == 149 - 4  # line 1 is the link
    assert {o["status"] for o in lines} == {"applied", "refused"}


def test_text_output_names_each_refused_line(netns, tmp_path):
    _with_v0(netns)
    path = _batch_file(tmp_path, _routes(70, duplicate=3))
    proc = run_cli("--netns", netns.name, "-batch", path)
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        f"socklab: error: {path}:3: add route 10.255.0.0/16 dev v0: File exists (it exists "
        f"already; 'replace' overwrites a route or a neighbour)\n")
    assert proc.stdout.decode() == f"{path}: 70 lines: applied 1-2, 4-64; refused 3; " \
                                   f"not sent 65-70\n"


def test_stdin_dry_run_sends_nothing(netns):
    _with_v0(netns)
    before = ip_state(netns)
    proc = run_cli("--netns", netns.name, "-batch", "-", "--dry-run",
                   input=b"route add 10.8.0.0/16 via 10.255.0.2\nlink add w0 type bridge\n")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "stdin:1: add route 10.8.0.0/16 via 10.255.0.2" in out
    assert "RTM_NEWROUTE" in out and "RTM_NEWLINK" in out
    assert "RTA_GATEWAY" in out and "10.255.0.2" in out
    assert out.endswith("2 lines checked; nothing was sent (dry run)\n")
    assert ip_state(netns) == before


def test_without_privilege_exit_77_and_nothing_changed(netns):
    need_tool("setpriv")
    _with_v0(netns)
    before = ip_state(netns)
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      "--inh-caps=-all", *SOCKLAB, "-batch", "-", check=False, cwd="/tmp",
                      input=_routes(100, duplicate=100))
    assert proc.returncode == 77, proc.stderr
    assert "CAP_NET_ADMIN" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert ip_state(netns) == before


def test_the_library_returns_each_line_s_outcome(netns):
    _with_v0(netns)
    lines = ["route add 10.1.0.0/16 via 10.255.0.2", "# nothing",
             "route add 10.1.0.0/16 via 10.255.0.3", "route add 10.2.0.0/16 via 10.255.0.3"]
    result = batch.run(lines, netns=netns.name, force=True)
    assert [(o.number, o.status) for o in result.outcomes] == [
        (1, "applied"), (3, "refused"), (4, "applied")]
    assert result.outcomes[2].change.ip == "ip route add 10.2.0.0/16 via 10.255.0.3"
    assert not result.ok and result.sent
    assert _present(netns) == {"10.1.0.0/16", "10.2.0.0/16"}
    dry = batch.run(lines, netns=netns.name, dry_run=True)
    assert [o.status for o in dry.outcomes] == ["planned"] * 3 and not dry.sent


def test_the_line_bounds_hold_for_a_generated_file():
    lines = iter(["link set lo up"] * (batch.MAX_LINES + 1))  # checked before any is read
    with pytest.raises(BadInput, match=f"big: more than {batch.MAX_LINES} lines"):
        batch.plan(lines, source="big")


def test_a_flush_cut_by_the_stop_is_partly_applied(netns, tmp_path):
    _with_v0(netns)
    netns.ip("link", "add", "w0", "type", "veth", "peer", "name", "w1")
    netns.exec("ip", "-batch", "-", input="\n".join(f"addr add 10.9.0.{i}/32 dev w0"
                                                   for i in range(1, 101)))
    # request 1 refused; the flush's 100 deletes are requests 2 to 101: the first buffer
    # (64 requests) holds 63 of them, and nothing is sent after it
    path = _batch_file(tmp_path, "route add 10.255.0.0/16 dev v0\naddr flush dev w0\n"
                                 "route add 10.1.0.0/16 via 10.255.0.2\n")
    proc = run_cli("--netns", netns.name, "--json", "-batch", path)
    assert proc.returncode == 1
    assert [(o["line"], o["status"]) for o in json.loads(proc.stdout)["lines"]] == [
        (1, "refused"), (2, "partly applied"), (3, "not sent")]
    left = ipj(netns, "addr", "show", "w0")[0]["addr_info"]
    assert len([a for a in left if a["family"] == "inet"]) == 100 - 63


def test_a_renamed_device_keeps_what_the_plan_gave_it(netns, tmp_path):
    _quiet(netns)
    path = _batch_file(tmp_path, "link add v0 type veth peer name v1\n"
                                 "addr add 10.7.0.1/24 dev v0\n"
                                 "link set v0 name lan0\n"
                                 "link set lan0 up\n"
                                 "route add 10.8.0.0/16 via 10.7.0.254 dev lan0\n"
                                 "addr del 10.7.0.1/24 dev lan0\n")
    proc = run_cli("--netns", netns.name, "-batch", path)
    assert proc.returncode == 0, proc.stderr.decode()
    (lan0,) = ipj(netns, "link", "show", "lan0")
    assert "UP" in lan0["flags"]
    assert ipj(netns, "addr", "show", "lan0")[0]["addr_info"] == []
