"""Pick lists as CSV and printable PDF (reportlab), from what the selectors return."""
import csv
import io
from datetime import date
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from core.documents import STYLES, grid, pdf

from .models import SortList
from .selectors import PickProduct, SortStop

_GRID = grid()


def batch_pick_csv(picks: list[PickProduct]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["storage_temperature", "sku", "product", "unit", "product_total", "lot", "bin", "expiry", "quantity"])
    for p in picks:
        for lot in p.lots:
            writer.writerow([p.storage_temperature, p.sku, p.name, p.unit, p.total, lot.lot_id, lot.bin_location, lot.expiry_date, lot.quantity])
    return out.getvalue()


def sort_list_csv(sort_list: SortList, stops: list[SortStop]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["route", "loading_order", "stop", "pickup_point", "leader", "crates", "sku", "product", "storage_temperature", "quantity"])
    for loading_order, stop in enumerate(stops, start=1):
        for line in stop.lines:
            writer.writerow([
                sort_list.route_code, loading_order, stop.stop_number, stop.pickup_point_code, stop.leader_name,
                stop.crates, line.sku, line.name, line.storage_temperature, line.quantity,
            ])
    return out.getvalue()


def batch_pick_pdf(delivery_date: date, picks: list[PickProduct], depot_name: str = "all depots") -> bytes:
    story = []
    for temperature in ("frozen", "chilled", "ambient"):
        zone = [p for p in picks if p.storage_temperature == temperature]
        if not zone:
            continue
        rows = [["SKU", "Product", "Total", "Lot", "Bin", "Expiry", "Pick"]]
        for p in zone:
            for i, lot in enumerate(p.lots):
                first = i == 0
                rows.append([p.sku if first else "", p.name if first else "", f"{p.total} {p.unit}" if first else "",
                             lot.lot_id, lot.bin_location, lot.expiry_date.isoformat(), lot.quantity])
        story += [Paragraph(f"{temperature.title()} zone", STYLES["Heading2"]), Table(rows, repeatRows=1, style=_GRID), Spacer(1, 6 * mm)]
    if not story:
        story = [Paragraph("Nothing to pick.", STYLES["Normal"])]
    return pdf(f"Batch pick list {delivery_date} — {depot_name}", story)


def _qr(text: str, size: float = 28 * mm) -> Drawing:
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def sort_list_pdf(sort_list: SortList, stops: list[SortStop]) -> bytes:
    """The sort list in loading order, then one tote label per stop (print one per crate)."""
    rows = [["Load", "Stop", "Pickup point", "Leader", "Crates", "Products"]]
    for loading_order, stop in enumerate(stops, start=1):
        products = "<br/>".join(
            escape(f"{line.quantity} × {line.name} ({line.sku}, {line.storage_temperature})") for line in stop.lines
        )
        rows.append([loading_order, stop.stop_number, f"{stop.pickup_point_code} {stop.pickup_point_name}",
                     stop.leader_name, stop.crates, Paragraph(products or "—", STYLES["BodyText"])])
    story = [
        Paragraph(f"Depot {sort_list.depot.name}. Load from the top: the last stop goes in first.", STYLES["Normal"]),
        Spacer(1, 4 * mm),
        Table(rows, repeatRows=1, style=_GRID, colWidths=[12 * mm, 12 * mm, 45 * mm, 30 * mm, 15 * mm, 66 * mm]),
        PageBreak(),
        Paragraph("Tote labels", STYLES["Heading2"]),
    ]
    for stop in sorted(stops, key=lambda s: s.stop_number):
        label = Table(
            [[_qr(stop.tote_label(sort_list)), Paragraph(
                f"<b>{escape(sort_list.route_code)} · stop {stop.stop_number}</b>"
                f"<br/>{escape(stop.pickup_point_code)} {escape(stop.pickup_point_name)}<br/>{escape(stop.address)}"
                f"<br/>Leader: {escape(stop.leader_name) or '—'}<br/><b>{stop.crates} crate(s)</b>, {stop.units} units",
                STYLES["BodyText"])]],
            colWidths=[32 * mm, 140 * mm],
            style=TableStyle([("BOX", (0, 0), (-1, -1), 1, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]),
        )
        story += [KeepTogether([label, Spacer(1, 4 * mm)])]
    return pdf(f"Sort list {sort_list.route_code} — {sort_list.delivery_date}", story)
