"""socklab tour --html: one self-contained page; it parses, every SVG is well-formed
XML, and the figures hold the run's real port numbers and byte counts."""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from helpers import run_cli


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
    assert len(svgs) == 2
    trees = [ET.fromstring(svg) for svg in svgs]  # well-formed, or this raises
    tcp_text = " ".join(t.text or "" for t in trees[0].iter("{http://www.w3.org/2000/svg}text"))
    assert "bind(127.0.0.1:0) = ok" in tcp_text
    assert f"connect({port})" in tcp_text  # the run's real port
    assert "sendall(7 bytes) = 7" in tcp_text  # b"bonjour": the run's byte count
    for lane in ("listening", "client", "accepted"):
        assert f">{lane}<" in svgs[0]


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
