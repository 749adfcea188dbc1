"""Purchase orders as CSV and printable PDF (reportlab, in the house style of core/documents.py)."""
import csv
import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table

from core.documents import STYLES, grid, pdf

from .models import PurchaseOrder

_NUMBERS_RIGHT = grid(("ALIGN", (3, 1), (-1, -1), "RIGHT"))


def _rows(order: PurchaseOrder):
    """(sku, product, unit, cases, case pack, quantity, unit cost, amount) per line."""
    for line in order.lines.all():
        pack = line.supplier_product.case_pack
        yield (line.product.sku, line.product.name, line.product.unit, line.quantity // pack, pack, line.quantity,
               line.unit_cost, line.unit_cost * line.quantity)


def purchase_order_csv(order: PurchaseOrder) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["po_number", "supplier", "delivery_date", "expected_on", "ship_to", "sku", "product", "unit",
                     "cases", "case_pack", "quantity", "unit_cost", "amount"])
    for row in _rows(order):
        writer.writerow([order.number, order.supplier.code, order.delivery_date, order.expected_on, order.site.code, *row])
    return out.getvalue()


def purchase_order_pdf(order: PurchaseOrder) -> bytes:
    supplier, site = order.supplier, order.site
    rows = [["SKU", "Product", "Unit", "Cases", "Pack", "Quantity", "Unit cost", "Amount"]]
    total = Decimal("0")
    for sku, name, unit, cases, pack, quantity, cost, amount in _rows(order):
        rows.append([sku, Paragraph(escape(name), STYLES["BodyText"]), unit, cases, pack, quantity, f"{cost:.2f}", f"{amount:.2f}"])
        total += amount
    rows.append(["", "Total", "", "", "", "", "", f"{total:.2f}"])
    contact = " · ".join(filter(None, [supplier.contact_name, supplier.phone, supplier.email]))
    header = (
        f"<b>Supplier</b>: {escape(f'{supplier.code} {supplier.name}')}{escape(' · ' + contact) if contact else ''}<br/>"
        f"<b>Deliver to</b>: {escape(f'{site.code} {site.name}, {site.address}')}<br/>"
        f"<b>Due</b>: {order.expected_on} (for delivery day {order.delivery_date}) · <b>State</b>: {order.state}"
    )
    return pdf(f"Purchase order {order.number}", [
        Paragraph(header, STYLES["Normal"]), Spacer(1, 5 * mm),
        Table(rows, repeatRows=1, style=_NUMBERS_RIGHT,
              colWidths=[22 * mm, 50 * mm, 18 * mm, 14 * mm, 12 * mm, 18 * mm, 20 * mm, 24 * mm]),
    ])
