"""Every section of the tour, selected by its course number, as root and as an
unprivileged user, in English and in French: exit 0, the section ran (or, for
what needs a privilege, was skipped with the reason), and the text is in the
language asked."""

import json

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

from socklab.cli.tour import SECTION_LIST

pytestmark = pytest.mark.privileged

NEEDS_PRIVILEGE = {"change", "lab", "ping", "filter", "ipsec"}  # namespaces (CAP_SYS_ADMIN),
# xfrm (CAP_NET_ADMIN); a raw socket here
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


def _facts(section: str) -> list[tuple[str, str, str]]:
    proc = run_cli("--json", "tour", section, "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["status"] == "ok", result["reason"]
    return [(s["label"], str(s["value"]), s["note"]) for s in result["steps"]
            if s["kind"] == "fact"]


def test_filter_section_drops_counts_traces_and_removes_the_rule():
    need_root()
    need_tool("nft")
    facts = _facts("1.3.1")
    connects = [value for label, value, _note in facts if label == "connect"]
    assert connects == ["connected: no rule stands in the way", "timed out", "connected again"]
    (handle,) = [note for label, value, note in facts
                 if label == "socklab" and "filter add drop" in value]
    number = handle.removeprefix("handle ")
    counters = [int(value.split()[0]) for label, value, _n in facts
                if label == "the rule's counter"]
    assert counters[0] >= 1 and counters[1] > counters[0]  # the SYN, then the probe
    (verdict,) = [(value, note) for label, value, note in facts if label == "verdict"]
    assert verdict == ("drop", f"decided by rule [{number}], the one added above")
    (removed,) = [note for label, value, note in facts
                  if label == "socklab" and "filter del" in value]
    assert removed.startswith(f"rule [{number}] removed")


def test_ipsec_section_adds_policies_and_tries_the_states():
    need_root()
    facts = {label: (value, note) for label, value, note in _facts("1.3.2")}
    assert facts["policies added"][0] == "2"
    before, after = (int(n) for n in facts["XfrmOutNoStates"][0].split(" -> "))
    assert after == before + 1  # the datagram the policy sent to no SA
    if "SAs" in facts:  # a kernel without ESP: its own words
        assert facts["SAs"][0] == "refused by this kernel"
        assert "Requested type not found" in facts["SAs"][1]
    else:
        assert facts["SAs added"][0] == "2"
