"""The house style of printed documents (reportlab): one title, grid tables, A4 with narrow margins.

Every document prints in Noto Sans SC, embedded (as a subset) in the PDF: the names people read are
Chinese, and reportlab's built-in Helvetica has no CJK glyphs (it printed them as black boxes), while
its CID fonts are not embedded and so depend on the reader having Adobe's Asian font pack. The font
comes from a registry package (justmytype-intl-cjk, OFL), so a fresh install needs nothing else.
"""
import csv
import io
from functools import cache
from importlib import resources
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, TableStyle

FONT = "NotoSansSC"
FONT_FILE = ("justmytype_intl_cjk", "fonts/ofl/notosanssc/NotoSansSC[wght].ttf")


@cache
def register_font() -> str:
    """Register the CJK font once per process; <b> maps to the same face (the file has one weight)."""
    package, path = FONT_FILE
    pdfmetrics.registerFont(TTFont(FONT, str(resources.files(package) / path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    return FONT


class _Styles:
    """getSampleStyleSheet() with every style in the CJK font, built on first use (after registration)."""

    @cache
    def _sheet(self):
        register_font()
        sheet = getSampleStyleSheet()
        for style in sheet.byName.values():
            style.fontName = FONT
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
