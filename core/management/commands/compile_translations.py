"""Compile every locale/*/LC_MESSAGES/*.po of the project into .mo, in pure Python (polib).

Django's own compilemessages needs GNU gettext's msgfmt, which a fresh machine (and the slim Docker
image) does not have; `make install` and the Dockerfile run this instead, so the compiled files are
never committed and can never go stale against their .po.
"""
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogues(base_dir: Path) -> list[Path]:
    skip = {".venv", "var", "node_modules", ".git"}
    return sorted(
        path for path in base_dir.glob("**/locale/*/LC_MESSAGES/*.po")
        if not skip.intersection(path.relative_to(base_dir).parts)
    )


class Command(BaseCommand):
    help = "Compile the project's .po translation catalogues into .mo files (no system gettext needed)."

    def handle(self, *args, **options):
        compiled = 0
        for po_path in catalogues(Path(settings.BASE_DIR)):
            try:
                catalogue = polib.pofile(str(po_path))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{po_path}: {exc}") from exc
            mo_path = po_path.with_suffix(".mo")
            # Untranslated and fuzzy entries stay out, as msgfmt leaves them: the English msgid shows instead.
            catalogue.save_as_mofile(str(mo_path))
            compiled += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"{po_path}: {catalogue.percent_translated()} % translated")
        if options["verbosity"] > 0:
            self.stdout.write(f"compiled {compiled} catalogues")
