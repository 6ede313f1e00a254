"""The tour's two languages: English (the message ids) and French (``locale/fr.po``).

Rules:

1. The language is ``--lang`` when given, else the first of ``LANGUAGE``,
   ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set and not empty, in the order
   GNU gettext reads them (``gettext.find``; LANGUAGE is a colon list, its first
   entry counts). ``fr``, ``fr_FR.UTF-8``, ``fr_CA`` ... give French; anything
   else (``C``, ``POSIX``, ``en_US``) gives English.
2. Messages are marked ``_("...")`` (translated where used) or ``N_("...")``
   (translated later, such as section titles); tests/unit/test_tour_catalogue.py
   fails when a marked message has no French translation, keeps a stale one, or
   drops a ``{placeholder}``.
3. The catalogue is the ``.po`` source itself, parsed here (a few hundred lines,
   about a millisecond): no compiled ``.mo`` can go stale beside an edited
   ``.po`` in an editable install, and nothing needs building (docs/design.md).
   Entries marked ``#, fuzzy`` or with an empty ``msgstr`` are not used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from socklab.userfiles import read_bounded

__all__ = ["LANGUAGES", "N_", "Translator", "choose", "load_po"]

LANGUAGES = ("en", "fr")
MAX_PO = 1 << 20  # bytes: the catalogue is package data, but a bound costs nothing
LOCALE_DIR = Path(__file__).with_name("locale")
_ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it yet."""
    return message


def choose(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The tour's language (rule 1)."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    for name in _ENV_ORDER:
        value = env.get(name, "")
        if value:
            first = value.split(":")[0]
            code = first.split(".")[0].split("@")[0].split("_")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    """A .po string literal's content (C escapes \\n \\t \\" \\\\ only)."""
    body = text.strip()
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        raise ValueError(f"not a quoted .po string: {text!r}")
    out, it = [], iter(body[1:-1])
    for ch in it:
        out.append(_ESCAPES.get(next(it, ""), "") if ch == "\\" else ch)
    return "".join(out)


def load_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file, leaving out fuzzy and untranslated entries."""
    entries: dict[str, str] = {}
    msgid: list[str] = []
    msgstr: list[str] = []
    target = msgid
    fuzzy = next_fuzzy = False

    def finish() -> None:
        if msgid and not fuzzy and "".join(msgid) and "".join(msgstr):
            entries["".join(msgid)] = "".join(msgstr)

    data = read_bounded(str(path), MAX_PO)
    if len(data) > MAX_PO:
        raise ValueError(f"{path}: a catalogue over {MAX_PO} bytes")
    for raw in data.decode("utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            next_fuzzy = next_fuzzy or (line.startswith("#,") and "fuzzy" in line)
        elif line.startswith("msgid "):
            finish()
            msgid, msgstr = [_unquote(line[6:])], []
            target, fuzzy, next_fuzzy = msgid, next_fuzzy, False
        elif line.startswith("msgstr "):
            target = msgstr
            msgstr.append(_unquote(line[7:]))
        elif line.startswith('"'):
            target.append(_unquote(line))
    finish()
    return entries


class Translator:
    """``_(message)``: the message in the chosen language (English when untranslated)."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        po = LOCALE_DIR / f"{self.lang}.po"
        self.catalogue = load_po(po) if self.lang != "en" else {}

    def __call__(self, message: str) -> str:
        return self.catalogue.get(message, message)
