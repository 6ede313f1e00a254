"""`-` as the file of --html / --svg is standard output, as tcpdump's `-w -`: the page
or picture alone there (nothing else the command would print), and no file named `-`."""

from __future__ import annotations

import os
import xml.dom.minidom
from html.parser import HTMLParser

from helpers import run_cli


def test_tour_html_dash_is_the_page_alone(tmp_path):
    proc = subprocess_in(tmp_path, "tour", "--lang", "en", "--html", "-", "2.2.2")
    assert proc.returncode == 0, proc.stderr
    page = proc.stdout.decode()
    assert page.lstrip().lower().startswith("<!doctype html") and page.rstrip().endswith("</html>")
    HTMLParser().feed(page)
    assert not os.path.exists(tmp_path / "-")


def test_tour_html_dash_with_json_is_bad_input(tmp_path):
    proc = subprocess_in(tmp_path, "--json", "tour", "--html", "-", "2.2.2")
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().count("\n") == 1 and "standard output" in proc.stderr.decode()


def test_lab_draw_svg_dash_is_the_picture_alone(tmp_path):
    proc = subprocess_in(tmp_path, "lab", "draw", "lab1", "--svg", "-")
    assert proc.returncode == 0, proc.stderr
    xml.dom.minidom.parseString(proc.stdout)  # the whole output is one SVG document
    assert b"<svg" in proc.stdout and not os.path.exists(tmp_path / "-")


def test_explain_svg_dash_with_json_is_bad_input(tmp_path):
    proc = subprocess_in(tmp_path, "--json", "explain", "unix", "--svg", "-")
    assert proc.returncode == 2 and proc.stdout == b""


def subprocess_in(folder, *args):
    """socklab run with ``folder`` as its working directory (a file named '-' would
    land there)."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return run_cli(*args)
    finally:
        os.chdir(cwd)


def test_explain_svg_dash_is_the_picture_alone(tmp_path):
    proc = subprocess_in(tmp_path, "explain", "unix", "--host", "--svg", "-")
    assert proc.returncode == 0, proc.stderr
    xml.dom.minidom.parseString(proc.stdout)
    assert b"<svg" in proc.stdout and b"socket" in proc.stdout
