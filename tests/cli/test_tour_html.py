"""socklab tour --html: one self-contained page; it parses, every SVG is well-formed
XML, and the figures hold the run's real port numbers and byte counts."""

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from helpers import need_root, run_cli


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.external = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)


def test_html_page_holds_the_runs_figures(tmp_path):
    out = tmp_path / "tour.html"
    proc = run_cli("--json", "tour", "tcp", "udp", "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    tcp = next(s for s in json.loads(proc.stdout) if s["name"] == "tcp")
    port = next(s["value"] for s in tcp["steps"] if s.get("label") == "server listens on")
    page = out.read_text(encoding="utf-8")
    parser = Collect()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and not parser.external  # self-contained
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    trees = [ET.fromstring(svg) for svg in svgs]  # well-formed, or this raises
    by_title = {t.find(f"{SVG}title").text: (svg, t) for svg, t in zip(svgs, trees, strict=True)}
    assert len(by_title) == len(svgs) == 4  # per section: figure 3 and the sequence
    svg, tree = by_title["TCP, the connected mode: server and client on loopback"]
    tcp_text = _texts(tree)
    assert "bind(127.0.0.1:0) = ok" in tcp_text
    assert f"connect({port})" in tcp_text  # the run's real port
    assert "sendall(7 bytes) = 7" in tcp_text  # b"bonjour": the run's byte count
    for lane in ("listening", "client", "accepted"):
        assert f">{lane}<" in svg
    # figure 3 with the run's byte counts: two writes, 16 bytes held, one read
    _svg, buffers = by_title["Figure 3: the buffers of a stream socket, in this run"]
    assert _texts(buffers, "call") == ["send(7)", "send(9)", "recv() = 16"]
    assert _texts(buffers, "held") == ["16 bytes, one stream (FIONREAD)"]
    _svg, dgrams = by_title["Figure 3: the buffers of a datagram socket, in this run"]
    assert _texts(dgrams, "call") == ["sendto(5)", "sendto(6)", "recvfrom() = 5",
                                      "recvfrom() = 6"]
    assert "message boundaries kept" in _texts(dgrams, "summary")[0]
    # in the stream's buffer the two writes touch; the datagrams are boxes apart
    for tree, apart in ((buffers, False), (dgrams, True)):
        a, b = [r for r in tree.iter(f"{SVG}rect") if r.get("class") == "piece"]
        gap = float(b.get("x")) - float(a.get("x")) - float(a.get("width"))
        assert (gap > 1) is apart, gap


def _texts(tree, cls=None):
    texts = [t.text or "" for t in tree.iter(f"{SVG}text") if cls in (None, t.get("class"))]
    return " ".join(texts) if cls is None else texts


SVG = "{http://www.w3.org/2000/svg}"


def test_html_sequence_has_the_packets_and_states_when_root(tmp_path):
    need_root()
    out = tmp_path / "tour.html"
    proc = run_cli("tour", "tcp", "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    svg = next(s for s in re.findall(r"<svg\b.*?</svg>", out.read_text(), flags=re.S)
               if "TCP, the connected mode" in s)
    tree = ET.fromstring(svg)
    states = [t.text for t in tree.iter(f"{SVG}text") if t.get("class") == "state"]
    assert states[:1] == ["[LISTEN]"] and "[TIME-WAIT]" in states
    arrows = list(tree.iter(f"{SVG}line"))
    packets = [a for a in arrows if a.get("class") == "packet"]
    assert len(packets) >= 9  # handshake 3, data 3 + their ACKs, FIN exchange 3 or 4
    labels = _texts(tree)
    assert "SYN" in labels and "SYN-ACK" in labels and "FIN-ACK" in labels
    assert "PSH-ACK 7 bytes" in labels


def test_html_topology_is_this_machines(tmp_path):
    out = tmp_path / "tour.html"
    proc = run_cli("tour", "stack", "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    svg = next(s for s in re.findall(r"<svg\b.*?</svg>", out.read_text(), flags=re.S)
               if "interfaces and routes" in s)
    tree = ET.fromstring(svg)
    addresses = set(_texts(tree, "address"))
    ip = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True, check=True,
                                   text=True).stdout)
    lo = next(link for link in ip if link["ifname"] == "lo")
    for a in lo["addr_info"]:  # ip's own view of lo, drawn in lo's box
        assert f"{a['local']}/{a['prefixlen']}" in addresses
    routes = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True, check=True,
                                       text=True).stdout)
    # the figure draws the first 12 interfaces and the routes through them
    links = _texts(tree, "link-name")
    assert links == [link["ifname"] for link in ip][:12]
    through = [r for r in routes if r.get("dev") in links][:16]
    drawn = _texts(tree, "route")
    assert [r["dst"] for r in through] == drawn[:len(through)]
    gateways = {r["gateway"] for r in through if "gateway" in r}
    assert gateways <= set(_texts(tree, "gateway"))


def test_html_in_french(tmp_path):
    out = tmp_path / "tour.html"
    proc = run_cli("tour", "2.1.3", "--lang", "fr", "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "relais, côté client" in page


def test_html_unwritable_file_is_bad_input(tmp_path):
    proc = run_cli("tour", "tcp", "--html", str(tmp_path / "no" / "such" / "dir.html"))
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("socklab: error: cannot write")


def test_html_td_code_beside_its_calls(tmp_path):
    out = tmp_path / "tour.html"
    proc = run_cli("tour", "3.2", "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td><pre>(.*?)</pre></td><td><pre>(.*?)</pre></td></tr>", page,
                      flags=re.S)
    by_code = {code.split("\n")[0]: calls for code, calls in rows}
    calls = by_code["python: cli.connect(srv.getsockname())"]
    port = re.search(r"getsockname\(fd \d+ \(server\)\) = 127\.0\.0\.1:(\d+)", calls)[1]
    assert re.search(rf"connect\(fd \d+ \(client\), 127\.0\.0\.1:{port}\) = ok", calls)
    assert re.fullmatch(r"recv\(fd \d+ \(client\), 1024\) = 13 bytes",
                        by_code["python: cli.recv(1024)"])
