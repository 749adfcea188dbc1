"""Every msgid the code uses has a zh-hans translation that is neither missing nor fuzzy.

The msgids are extracted here in pure Python (Babel's Python extractor, over our .py files and over
Django's own `templatize` of each template), so the check needs no system gettext and runs everywhere,
CI included. `makemessages -l zh_Hans` refreshes the .po files; this test says when that was forgotten.
"""
from pathlib import Path

import polib
import pytest
from babel.messages.extract import extract
from django.conf import settings
from django.utils.translation import template as django_template

ROOT = Path(settings.BASE_DIR)
SKIPPED_DIRS = {".venv", "var", ".git", "node_modules", "migrations", "tests", ".i18n-work", "static"}
# name -> argument positions as Babel takes them; (n, "c") is the message context.
KEYWORDS = {
    "_": None, "gettext": None, "gettext_lazy": None, "gettext_noop": None,
    "ngettext": (1, 2), "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2), "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3), "npgettext_lazy": ((1, "c"), 2, 3),
}


def _sources(suffix: str) -> list[Path]:
    return sorted(
        path for path in ROOT.rglob(f"*{suffix}")
        if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts[:-1])
    )


def _msgids(fileobj) -> set[str]:
    found = set()
    for _lineno, message, _comments, context in extract("python", fileobj, keywords=KEYWORDS):
        singular = message if isinstance(message, str) else message[0]
        if singular and singular.strip():
            found.add(f"{context}\x04{singular}" if context else singular)
    return found


def used_msgids() -> dict[str, str]:
    """msgid (with "context\\x04" when there is one) -> the first file that uses it."""
    import io

    used = {}
    for path in _sources(".py"):
        with path.open("rb") as fileobj:
            for msgid in _msgids(fileobj):
                used.setdefault(msgid, str(path.relative_to(ROOT)))
    for path in _sources(".html"):
        code = django_template.templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # templatize keeps the template's indentation, which Python's tokenizer rejects; the calls are what count.
        code = "\n".join(line.lstrip() for line in code.splitlines())
        for msgid in _msgids(io.BytesIO(code.encode("utf-8"))):
            used.setdefault(msgid, str(path.relative_to(ROOT)))
    return used


def zh_hans_catalogue() -> dict[str, polib.POEntry]:
    entries = {}
    for po_path in sorted(ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po")):
        if SKIPPED_DIRS.intersection(po_path.relative_to(ROOT).parts):
            continue
        for entry in polib.pofile(str(po_path)):
            key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
            entries.setdefault(key, entry)
    return entries


def _translated(entry: polib.POEntry) -> bool:
    if "fuzzy" in entry.flags or entry.obsolete:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(text.strip() for text in entry.msgstr_plural.values())
    return bool(entry.msgstr.strip())


def test_the_extractor_sees_python_and_template_msgids():
    used = used_msgids()
    # One of each kind: a lazy Python string, a template {% translate %}; guards against extracting nothing.
    assert len(used) > 100
    assert any(path.endswith(".html") for path in used.values())
    assert any(path.endswith(".py") for path in used.values())


def test_every_msgid_in_use_is_translated_to_simplified_chinese():
    catalogue = zh_hans_catalogue()
    problems = []
    for msgid, path in sorted(used_msgids().items(), key=lambda item: (item[1], item[0])):
        entry = catalogue.get(msgid)
        if entry is None:
            problems.append(f"{path}: not in any zh_Hans catalogue (run makemessages): {msgid!r}")
        elif not _translated(entry):
            problems.append(f"{path}: untranslated or fuzzy: {msgid!r}")
    assert not problems, f"{len(problems)} msgids:\n" + "\n".join(problems[:80])


def test_no_catalogue_keeps_fuzzy_entries():
    fuzzy = [key for key, entry in zh_hans_catalogue().items() if "fuzzy" in entry.flags]
    assert not fuzzy, fuzzy[:20]


@pytest.mark.parametrize("language, expected", [("zh-hans", "简体中文"), ("en", "English")])
def test_both_languages_are_offered(language, expected):
    assert dict(settings.LANGUAGES)[language] == expected
