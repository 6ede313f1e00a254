"""The tour's HTML page in a real browser: headless Chromium (the distribution's package,
installed by scripts/sysdeps.sh) loads it from a file:// URL inside a network namespace
of its own (no network at all), logs no console message or error, and takes a
screenshot of the expected size. A page with a broken script is caught the same way,
so the check can fail."""

import re
import struct

import pytest
from helpers import need_root, need_tool, run_cli

pytestmark = pytest.mark.privileged

WIDTH, HEIGHT = 1000, 1600
# Chromium's log lines for what a page does: console output (errors and uncaught
# exceptions included) and resources it could not load
CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\] (.*)|(Uncaught .*)|(net::ERR_\w+)")


def _load(netns, page, tmp_path):
    """Chromium's console lines for ``page`` and the screenshot's bytes."""
    shot = tmp_path / "shot.png"
    proc = netns.exec(
        "chromium", "--headless", "--no-sandbox",  # root: Chromium's sandbox refuses it
        "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-sync",
        "--disable-background-networking", "--disable-component-update",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=3000", "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={shot}", page.as_uri(), check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [next(g for g in m.groups() if g) for m in CONSOLE.finditer(proc.stderr)]
    return console, shot.read_bytes()


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_tour_page_loads_in_chromium_without_errors(netns, tmp_path):
    need_root()
    need_tool("chromium")
    page = tmp_path / "tour.html"
    proc = run_cli("tour", "stack", "tcp", "udp", "td", "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    console, png = _load(netns, page, tmp_path)
    assert console == []
    assert _png_size(png) == (WIDTH, HEIGHT)
    assert len(png) > 10_000  # a page drawn, not a blank one (a white PNG is ~3 KB)


def test_a_broken_script_is_caught(netns, tmp_path):
    need_root()
    need_tool("chromium")
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p>"
                    "<script>notAFunction();</script></body></html>", encoding="utf-8")
    console, png = _load(netns, page, tmp_path)
    assert any("Uncaught ReferenceError: notAFunction is not defined" in c for c in console)
    assert _png_size(png) == (WIDTH, HEIGHT)
