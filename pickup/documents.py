"""Leader statements as CSV and printable PDF (reportlab), from what the selectors return."""
import csv
import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table

from core.documents import STYLES, grid, pdf

from .selectors import Statement

_GRID = grid(("ALIGN", (-4, 1), (-1, -1), "RIGHT"), font_size=8)
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
    title = f"Commission statement — {statement.leader}, {statement.start} to {statement.end}"
    totals = Table([[label, f"{value}"] for label, value in _totals(statement)], style=_GRID, hAlign="LEFT")
    lines = [[Paragraph(escape(str(cell)), STYLES["BodyText"]) if i == 6 else cell for i, cell in enumerate(row)] for row in _rows(statement)]
    return pdf(title, [
        totals,
        Spacer(1, 6 * mm),
        Table([COLUMNS, *lines], repeatRows=1, style=_GRID) if lines else Paragraph("No commission in this period.", STYLES["Normal"]),
    ], wide=True)
