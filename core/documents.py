"""The house style of printed documents (reportlab): one title, grid tables, A4 with narrow margins."""
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, TableStyle

STYLES = getSampleStyleSheet()


def grid(*extra, font_size: int = 9) -> TableStyle:
    """Ruled table with a grey header row; `extra` adds commands such as right-aligned number columns."""
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("FONTSIZE", (0, 0), (-1, -1), font_size),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *extra,
    ])


def pdf(title: str, story: list, *, wide: bool = False) -> bytes:
    """A document of the title and the story; `wide` prints landscape for many columns."""
    buffer = io.BytesIO()
    margin = 12 * mm if wide else 15 * mm
    doc = SimpleDocTemplate(
        buffer, pagesize=landscape(A4) if wide else A4, title=title, leftMargin=margin, rightMargin=margin, topMargin=margin
    )
    doc.build([Paragraph(escape(title), STYLES["Title"]), *story])
    return buffer.getvalue()
