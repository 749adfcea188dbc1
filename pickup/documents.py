"""Leader statements as CSV and printable PDF (reportlab), from what the selectors return."""
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table

from core.documents import STYLES, cell, csv_text, grid, pdf
from core.formatting import yuan

from .models import Beneficiary, EntryKind
from .selectors import Statement

_GRID = grid(("ALIGN", (-4, 1), (-1, -1), "RIGHT"), font_size=8)
COLUMNS = [
    gettext_lazy("Entry"), gettext_lazy("Kind"), gettext_lazy("For"), gettext_lazy("Delivery day"),
    gettext_lazy("Pickup point"), gettext_lazy("Order line"), gettext_lazy("Product"), gettext_lazy("Resident"),
    gettext_lazy("Quantity"), gettext_lazy("Revenue"), gettext_lazy("Rate"), gettext_lazy("Amount"),
    gettext_lazy("Settled"),
]


def statement_filename(statement: Statement, extension: str) -> str:
    return f"statement-{statement.leader_id}-{statement.start}-{statement.end}.{extension}"


def _rows(statement: Statement):
    for line in statement.lines:
        yield [
            line.entry_id, EntryKind(line.kind).label, Beneficiary(line.beneficiary).label,
            line.delivery_date.isoformat(), line.pickup_point, line.order_line_id, line.product,
            line.resident_phone, line.quantity, line.revenue, line.rate, line.amount,
            timezone.localtime(line.settled_at).date().isoformat() if line.settled_at else "",
        ]


def _totals(statement: Statement) -> list[tuple[str, object]]:
    return [
        (_("GMV"), statement.gmv), (_("Accrued"), statement.accrued), (_("Settled"), statement.settled),
        (_("Clawed back"), statement.clawed_back), (_("Payable"), statement.payable),
    ]


def statement_csv(statement: Statement) -> str:
    """Amounts stay plain decimals here (a spreadsheet sums them); the PDF prints them as ¥."""
    totals = [[], *([label, value] for label, value in _totals(statement))]
    return csv_text(COLUMNS, [*_rows(statement), *totals])


def statement_pdf(statement: Statement) -> bytes:
    title = _("Commission statement — %(leader)s, %(start)s to %(end)s") % {
        "leader": statement.leader, "start": statement.start.isoformat(), "end": statement.end.isoformat(),
    }
    totals = Table([[label, yuan(value)] for label, value in _totals(statement)], style=_GRID, hAlign="LEFT")
    money = {9, 11}
    lines = [
        [cell(value) if i in (1, 2, 4, 6) else yuan(value) if i in money else value for i, value in enumerate(row)]
        for row in _rows(statement)
    ]
    return pdf(title, [
        totals,
        Spacer(1, 6 * mm),
        Table([[str(c) for c in COLUMNS], *lines], repeatRows=1, style=_GRID,
              colWidths=[14 * mm, 16 * mm, 22 * mm, 22 * mm, 36 * mm, 16 * mm, 48 * mm, 24 * mm,
                         12 * mm, 20 * mm, 12 * mm, 18 * mm, 22 * mm])
        if lines else Paragraph(escape(_("No commission in this period.")), STYLES["Normal"]),
    ], wide=True)
