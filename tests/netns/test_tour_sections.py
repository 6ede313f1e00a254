"""Every section of the tour, selected by its course number, as root and as an
unprivileged user, in English and in French: exit 0, the section ran (or, for
what needs a privilege, was skipped with the reason), and the text is in the
language asked."""

import json

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

from socklab.cli.tour import SECTION_LIST

pytestmark = pytest.mark.privileged

NEEDS_PRIVILEGE = {"change", "lab", "ping"}  # namespaces (CAP_SYS_ADMIN); a raw socket here
WORDS = {"en": "try next:", "fr": "à essayer ensuite :"}


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("section", SECTION_LIST, ids=lambda s: f"{s.numbers[0]}-{s.name}")
def test_section_by_number_as_root(section, lang):
    need_root()
    proc = run_cli("tour", section.numbers[0], "--lang", lang)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert f"== {section.numbers[0]}  " in out
    assert WORDS[lang] in out
    proc = run_cli("--json", "tour", section.numbers[0], "--lang", lang)
    by_name = {s["name"]: s for s in json.loads(proc.stdout)}
    assert by_name[section.name]["status"] == "ok", by_name[section.name]["reason"]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("section", SECTION_LIST, ids=lambda s: f"{s.numbers[0]}-{s.name}")
def test_section_by_number_as_nobody(netns, section, lang):
    need_tool("setpriv")
    netns.exec("sysctl", "-w", "net.ipv4.ping_group_range=1 0")
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      *SOCKLAB, "--json", "tour", section.numbers[0], "--lang", lang,
                      check=False, cwd="/tmp")
    assert proc.returncode == 0, proc.stderr
    by_name = {s["name"]: s for s in json.loads(proc.stdout)}
    result = by_name[section.name]
    if section.name in NEEDS_PRIVILEGE:
        assert result["status"] == "skipped" and result["reason"]
    else:
        assert result["status"] == "ok", result["reason"]
    if lang == "fr" and result["status"] == "ok":
        assert result["steps"][-1]["kind"] == "next"
        assert result["title"] != section.title  # translated
