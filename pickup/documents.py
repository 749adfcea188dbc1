"""Leader statements as CSV and printable PDF (reportlab), from what the selectors return."""
import csv
import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .selectors import Statement

_STYLES = getSampleStyleSheet()
_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("ALIGN", (-4, 1), (-1, -1), "RIGHT"),
    ]
)
COLUMNS = ["entry", "kind", "for", "delivery_date", "point", "order_line", "product", "resident", "quantity", "revenue", "rate", "amount", "settled"]


def statement_filename(statement: Statement, extension: str) -> str:
    return f"statement-{statement.leader_id}-{statement.start}-{statement.end}.{extension}"


def _rows(statement: Statement):
    for line in statement.lines:
        yield [
            line.entry_id, line.kind, line.beneficiary, line.delivery_date.isoformat(), line.pickup_point, line.order_line_id,
            line.product, line.resident_phone, line.quantity, line.revenue, line.rate, line.amount,
            timezone.localtime(line.settled_at).date().isoformat() if line.settled_at else "",
        ]


def _totals(statement: Statement) -> list[tuple[str, object]]:
    return [
        ("GMV", statement.gmv), ("accrued", statement.accrued), ("settled", statement.settled),
        ("clawed back", statement.clawed_back), ("payable", statement.payable),
    ]


def statement_csv(statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_rows(statement))
    writer.writerow([])
    for label, value in _totals(statement):
        writer.writerow([label, value])
    return out.getvalue()


def statement_pdf(statement: Statement) -> bytes:
    buffer = io.BytesIO()
    title = f"Commission statement — {statement.leader}, {statement.start} to {statement.end}"
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=title, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm)
    totals = Table([[label, f"{value}"] for label, value in _totals(statement)], style=_GRID, hAlign="LEFT")
    lines = [[Paragraph(escape(str(cell)), _STYLES["BodyText"]) if i == 6 else cell for i, cell in enumerate(row)] for row in _rows(statement)]
    story = [
        Paragraph(escape(title), _STYLES["Title"]),
        totals,
        Spacer(1, 6 * mm),
        Table([COLUMNS, *lines], repeatRows=1, style=_GRID) if lines else Paragraph("No commission in this period.", _STYLES["Normal"]),
    ]
    doc.build(story)
    return buffer.getvalue()
