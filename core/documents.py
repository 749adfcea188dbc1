"""The house style of printed documents (reportlab): one title, grid tables, A4 with narrow margins.

Every document prints in Noto Sans SC (Regular and Bold), embedded (as a subset) in the PDF: the names people read are
Chinese, and reportlab's built-in Helvetica has no CJK glyphs (it printed them as black boxes), while
its CID fonts are not embedded and so depend on the reader having Adobe's Asian font pack. The font
comes from a registry package (justmytype-intl-cjk, OFL), so a fresh install needs nothing else.
"""
import csv
import io
from functools import cache
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.graphics.shapes import STATE_DEFAULTS
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, TableStyle

FONT = "NotoSansSC"
FONT_BOLD = "NotoSansSC-Bold"
FONT_FILE = ("justmytype_intl_cjk", "fonts/ofl/notosanssc/NotoSansSC[wght].ttf")
# Static weights made by `manage.py prepare_fonts` (make install does it): file name -> weight.
STATIC_WEIGHTS = {"NotoSansSC-Regular.ttf": 400, "NotoSansSC-Bold.ttf": 700}


def variable_font_path() -> Path:
    package, path = FONT_FILE
    return Path(str(resources.files(package) / path))


def font_directory() -> Path:
    return Path(settings.VAR_DIR) / "fonts"


@cache
def register_font() -> str:
    """Register the CJK font once per process: Regular and Bold when prepared, else the variable font's
    default (thin) instance for both, so documents still print Chinese on a checkout that skipped install."""
    regular, bold = (font_directory() / name for name in STATIC_WEIGHTS)
    regular_file = regular if regular.exists() else variable_font_path()
    pdfmetrics.registerFont(TTFont(FONT, str(regular_file)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold if bold.exists() else regular_file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    # Drawings (the tote labels' QR codes) start from reportlab's graphics defaults, which name Helvetica:
    # it would be listed in the PDF, unembedded, though no text uses it.
    STATE_DEFAULTS["fontName"] = FONT
    return FONT


class _Styles:
    """getSampleStyleSheet() with every style in the CJK font, built on first use (after registration)."""

    @cache
    def _sheet(self):
        register_font()
        sheet = getSampleStyleSheet()
        for style in sheet.byName.values():
            style.fontName = FONT_BOLD if style.name in ("Title", "Heading1", "Heading2", "Heading3") else FONT
            if hasattr(style, "bulletFontName"):
                style.bulletFontName = FONT
            # Chinese has no spaces to break at: wrap anywhere a CJK line would overflow.
            style.wordWrap = "CJK"
        return sheet

    def __getitem__(self, name):
        return self._sheet()[name]


STYLES = _Styles()


def grid(*extra, font_size: int = 9) -> TableStyle:
    """Ruled table with a grey header row; `extra` adds commands such as right-aligned number columns."""
    register_font()
    return TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("FONTSIZE", (0, 0), (-1, -1), font_size),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *extra,
    ])


def cell(text, style: str = "BodyText") -> Paragraph:
    """A table cell that wraps (Chinese names are long and have no spaces to break at)."""
    return Paragraph(escape(str(text)), STYLES[style])


def pdf(title: str, story: list, *, wide: bool = False) -> bytes:
    """A document of the title and the story; `wide` prints landscape for many columns."""
    register_font()
    buffer = io.BytesIO()
    margin = 12 * mm if wide else 15 * mm
    doc = SimpleDocTemplate(
        buffer, pagesize=landscape(A4) if wide else A4, title=title, leftMargin=margin, rightMargin=margin,
        topMargin=margin, initialFontName=FONT,
    )
    doc.build([Paragraph(escape(title), STYLES["Title"]), *story])
    return buffer.getvalue()


# Excel and WPS on Windows read a CSV without a byte-order mark as the local code page (GBK): Chinese
# names come out garbled. With it they open as UTF-8; our own importers read it with utf-8-sig.
BOM = "\ufeff"


def csv_text(header: list, rows) -> str:
    """A CSV for people: BOM, then the (translated) header row, then the rows."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([str(column) for column in header])
    writer.writerows(rows)
    return out.getvalue()
