"""The tour's French catalogue is complete: every marked message translated, none stale,
the same {placeholders}; and the language is chosen from the locale as gettext does."""

import ast
import re
from pathlib import Path

import pytest

from socklab.cli.tour import lang

TOUR = Path(lang.__file__).parent


def marked_messages(pattern: str = "*.py") -> set[str]:
    """Every constant string given to _() or N_() (or t._()) in the tour's sources."""
    found = set()
    for path in TOUR.glob(pattern):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(
                f, ast.Attribute) else ""
            arg = node.args[0]
            if name in ("_", "N_") and isinstance(arg, ast.Constant) and isinstance(
                    arg.value, str):
                found.add(arg.value)
    return found


def test_sources_mark_messages():
    # an extractor that finds nothing would pass every test below
    assert len(marked_messages()) > 50


def test_every_message_has_its_french_translation():
    fr = lang.load_po(lang.LOCALE_DIR / "fr.po")
    missing = sorted(marked_messages() - set(fr))
    assert not missing, missing


def test_no_stale_translation():
    fr = lang.load_po(lang.LOCALE_DIR / "fr.po")
    assert not sorted(set(fr) - marked_messages())


def test_placeholders_kept():
    fr = lang.load_po(lang.LOCALE_DIR / "fr.po")
    for msgid, msgstr in fr.items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", msgstr)), msgid


def test_po_parser_skips_fuzzy_and_empty(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr "header"\n\n#, fuzzy\nmsgid "a"\nmsgstr "A"\n\n'
                  'msgid "b"\nmsgstr ""\n\nmsgid "c"\n"d\\n"\nmsgstr "C"\n"D\\"\\n"\n',
                  encoding="utf-8")
    assert lang.load_po(po) == {"cd\n": 'CD"\n'}


@pytest.mark.parametrize(("env", "want"), [
    ({}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "fr"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_CA"}, "fr"),
    ({"LC_ALL": "C", "LANG": "fr_FR"}, "en"),           # LC_ALL wins over LANG
    ({"LANGUAGE": "fr:en", "LC_ALL": "C"}, "fr"),       # LANGUAGE first, as gettext.find
    ({"LANGUAGE": "", "LANG": "fr_BE@euro"}, "fr"),     # empty is unset
])
def test_language_from_the_environment(env, want):
    assert lang.choose(None, env) == want


def test_explicit_language_wins():
    assert lang.choose("fr", {"LANG": "C"}) == "fr"
    assert lang.choose("en", {"LANG": "fr_FR"}) == "en"


@pytest.mark.parametrize("module", ["filtering", "ipsec"])
def test_filtering_and_ipsec_sections_speak_french(module):
    # course 1.3.1 and 1.3.2: every sentence they say is marked, and translated
    fr = lang.load_po(lang.LOCALE_DIR / "fr.po")
    mine = marked_messages(f"{module}.py")
    assert len(mine) >= 10
    assert not sorted(mine - set(fr))
    source = (TOUR / f"{module}.py").read_text(encoding="utf-8")
    assert "t.say(\"" not in source and "t.say('" not in source  # no unmarked paragraph
