"""Purchase orders as CSV and printable PDF (reportlab, in the house style of core/documents.py)."""
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table

from core.documents import STYLES, cell, csv_text, grid, pdf
from core.formatting import day, yuan

from .models import PurchaseOrder, PurchaseOrderState

_NUMBERS_RIGHT = grid(("ALIGN", (3, 1), (-1, -1), "RIGHT"))
CSV_COLUMNS = [
    gettext_lazy("PO number"), gettext_lazy("Supplier"), gettext_lazy("Delivery day"), gettext_lazy("Expected on"),
    gettext_lazy("Ship to"), gettext_lazy("SKU"), gettext_lazy("Product"), gettext_lazy("Unit"),
    gettext_lazy("Cases"), gettext_lazy("Case pack"), gettext_lazy("Quantity"), gettext_lazy("Unit cost"),
    gettext_lazy("Amount"),
]


def _rows(order: PurchaseOrder):
    """(sku, product, unit, cases, case pack, quantity, unit cost, amount) per line."""
    for line in order.lines.all():
        pack = line.supplier_product.case_pack
        yield (line.product.sku, line.product.name, line.product.unit, line.quantity // pack, pack, line.quantity,
               line.unit_cost, line.unit_cost * line.quantity)


def purchase_order_csv(order: PurchaseOrder) -> str:
    return csv_text(CSV_COLUMNS, (
        [order.number, order.supplier.code, order.delivery_date, order.expected_on, order.site.code, *row]
        for row in _rows(order)
    ))


def purchase_order_pdf(order: PurchaseOrder) -> bytes:
    supplier, site = order.supplier, order.site
    rows = [[_("SKU"), _("Product"), _("Unit"), _("Cases"), _("Pack"), _("Quantity"), _("Unit cost"), _("Amount")]]
    total = Decimal("0")
    for sku, name, unit, cases, pack, quantity, cost, amount in _rows(order):
        rows.append([sku, cell(name), unit, cases, pack, quantity, yuan(cost), yuan(amount)])
        total += amount
    rows.append(["", _("Total"), "", "", "", "", "", yuan(total)])
    contact = " · ".join(filter(None, [supplier.contact_name, supplier.phone, supplier.email]))
    lines = [
        _("Supplier: %(supplier)s") % {"supplier": f"{supplier.code} {supplier.name}" + (f" · {contact}" if contact else "")},
        _("Deliver to: %(site)s") % {"site": f"{site.code} {site.name}，{site.address}"},
        _("Due: %(due)s (for delivery day %(day)s) · State: %(state)s") % {
            "due": day(order.expected_on), "day": day(order.delivery_date),
            "state": PurchaseOrderState(order.state).label,
        },
    ]
    return pdf(_("Purchase order %(number)s") % {"number": order.number}, [
        Paragraph("<br/>".join(escape(line) for line in lines), STYLES["Normal"]), Spacer(1, 5 * mm),
        Table(rows, repeatRows=1, style=_NUMBERS_RIGHT,
              colWidths=[22 * mm, 50 * mm, 16 * mm, 14 * mm, 12 * mm, 18 * mm, 22 * mm, 26 * mm]),
    ])
