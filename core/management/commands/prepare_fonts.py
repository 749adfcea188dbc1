"""Make the static weights of the CJK font that printed documents use (run by `make install` and the image).

The registry's Noto Sans SC is one variable font whose default instance is its thinnest weight: too faint
for a tote label read at arm's length. fontTools cuts a Regular (400) and a Bold (700) instance out of it,
once (about 20 s each), into VAR_DIR/fonts; core.documents uses them when they are there.
"""
from django.core.management.base import BaseCommand
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

from core.documents import STATIC_WEIGHTS, font_directory, variable_font_path


class Command(BaseCommand):
    help = "Cut the Regular and Bold weights of the documents' CJK font out of its variable font (once)."

    def handle(self, *args, **options):
        directory = font_directory()
        directory.mkdir(parents=True, exist_ok=True)
        for filename, weight in STATIC_WEIGHTS.items():
            target = directory / filename
            if target.exists():
                continue
            instance = instancer.instantiateVariableFont(TTFont(str(variable_font_path())), {"wght": weight})
            # The instance keeps the variable font's default names ("Thin"): name it after its weight, so a
            # PDF lists its fonts as what they are and the two weights never share a PostScript name.
            postscript = target.stem
            style = postscript.rsplit("-", 1)[1]
            for name_id, value in ((2, style), (4, f"Noto Sans SC {style}"), (6, postscript)):
                instance["name"].setName(value, name_id, 3, 1, 0x409)
                instance["name"].setName(value, name_id, 1, 0, 0)
            partial = target.with_suffix(".partial")
            instance.save(str(partial))
            partial.rename(target)  # a crash halfway never leaves a truncated font behind
            if options["verbosity"] > 0:
                self.stdout.write(f"{target} (weight {weight})")
