"""The --explain texts' French catalogue (cli/tour/locale/explain-fr.po) is complete:
every marked message, template and sysctl explanation translated, none stale, the
same {placeholders}; and the library's sentences are all matched by a template."""

import ast
import re
from pathlib import Path

import pytest

from socklab.cli import explaintext
from socklab.cli.tour import lang
from socklab.stack import sysctl

CLI = Path(explaintext.__file__).parent
SOURCES = ("explaintext.py", "stackchange.py", "cmd_sysctl.py", "stackview.py")
PO = lang.LOCALE_DIR / "explain-fr.po"


def sysctl_messages() -> set[str]:
    """The sysctl table's texts shown by --explain: what it controls, its unit and
    default when they hold words, the BSD name when it carries a remark in ( )."""
    found = set()
    for _key, what, unit, default, bsd in sysctl.EXPLAIN:
        found |= {t for t in (what, unit, default) if re.search(r"[a-z]{3}", t)}
        if bsd and "(" in bsd:
            found.add(bsd)
    return found


def marked_messages() -> set[str]:
    found = set()
    for name in SOURCES:
        for node in ast.walk(ast.parse((CLI / name).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            called = f.id if isinstance(f, ast.Name) else ""
            arg = node.args[0]
            if called in ("_", "N_") and isinstance(arg, ast.Constant) and isinstance(
                    arg.value, str):
                found.add(arg.value)
    return found | sysctl_messages()


def test_sources_mark_messages():
    assert len(marked_messages()) > 100  # an extractor finding nothing passes the rest


def test_every_message_has_its_french_translation():
    missing = sorted(marked_messages() - set(lang.load_po(PO)))
    assert not missing, missing


def test_no_stale_translation():
    assert not sorted(set(lang.load_po(PO)) - marked_messages())


def test_placeholders_kept():
    for msgid, msgstr in lang.load_po(PO).items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", msgstr)), msgid


def test_templates_carry_values_over():
    fr = explaintext.Explainer("fr")
    said = fr.sentence("no match: 10.1.2.3 is not in 10.0.0.0/24; the packet has no mark "
                       "(fwmark 0x1)")
    assert "10.1.2.3" in said and "10.0.0.0/24" in said and "0x1" in said
    assert "is not in" not in said and "no match" not in said
    # the most specific template wins over "matched: {action}"
    assert fr.sentence("matched: searched table main") == "correspond : table main consultée"
    assert fr.sentence("matched: blackhole") == "correspond : blackhole"
    assert fr.sentence("an unknown sentence") == "an unknown sentence"
    assert explaintext.Explainer("en").sentence("no match: x") == "no match: x"
    lines = ["nft 'add rule inet socklab input drop'",
             "# iptables counts every rule (iptables -L -v): no counter word"]
    assert fr.lines(lines)[0] == lines[0] and fr.lines(lines)[1] != lines[1]


@pytest.mark.parametrize("dst", ["127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1",
                                 "192.0.2.1", "::1", "2001:db8::1", "ff02::1"])
def test_every_sentence_of_a_real_lookup_is_translated(dst):
    """route get on this machine (read only): each sentence the library wrote is
    matched by a template, so that nothing stays English in the French walk."""
    from socklab.stack import read

    ex = read.explain_route(dst)
    fr = explaintext.Explainer("fr")
    sentences = [ex.why, ex.source_why, ex.error or "", *ex.caveats,
                 *(s.outcome for s in ex.rules)]
    english = re.compile(r"\b(the|is|matched|searched|wins|go on|route whose|no route)\b")
    for text in sentences:
        if re.search(r"[a-z]{3}", text):
            said = fr.sentence(text)
            assert said != text and not english.search(said), (text, said)


def test_library_comment_lines_are_templates():
    """The comments filter add and ipsec add write are the templates' (no drift)."""
    from socklab.filter import rules
    from socklab.ipsec import manual

    fr = explaintext.Explainer("fr")
    comments = [line for line in rules.explain(rules.spec("drop")) if line.startswith("# ")]
    pair = manual.esp_pair("10.0.0.1", "10.0.0.2", 0x1000, 0x1001, "0x" + "11" * 16,
                           "0x" + "22" * 32)
    comments += [line for line in manual.explain(pair) if line.startswith("# ")]
    assert len(comments) == 2
    for line in comments:
        assert fr.sentence(line) != line, line


def test_how_a_large_table_was_searched_is_translated():
    """route get on a table too large to read says how it searched (read._found_by):
    every form of that sentence has its French template."""
    from socklab.stack import read, route_probe

    fr = explaintext.Explainer("fr")
    forms = [
        read._found_by("main", route_probe.Probed(), 65536),
        read._found_by("main", route_probe.Probed(asked=["10.0.0.0 (/8): x"] * 3), 65536),
        read._found_by("254", route_probe.Probed(asked=["a"], unseen=[23, 22, 9]), 65536),
    ]
    for text in forms:
        said = fr.sentence(text)
        assert "65,536" in said and not re.search(r"\b(holds|instead|were not seen)\b", said), said
    assert "/9, /22-/23" in fr.sentence(forms[2])
