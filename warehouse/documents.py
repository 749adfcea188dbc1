"""Pick lists as CSV and printable PDF (reportlab), from what the selectors return.

Pickers read these at arm's length on a cold floor: the point's name is printed large, the temperature
zone has its own colour band, and each tote gets one label per crate ("第 k / 共 n 筐").
"""
from datetime import date
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from catalog.models import StorageTemperature
from core.documents import FONT, FONT_BOLD, STYLES, cell, csv_text, grid, pdf
from core.formatting import day

from .models import SortList
from .selectors import PickProduct, SortStop

# Frozen first: it is picked last from the freezer but its zone heads the list so it is never forgotten.
ZONE_ORDER = (StorageTemperature.FROZEN, StorageTemperature.CHILLED, StorageTemperature.AMBIENT)
# A band per zone that reads without reading: blue frozen, green chilled, grey ambient.
ZONE_COLOURS = {
    StorageTemperature.FROZEN: colors.HexColor("#1f4e9c"),
    StorageTemperature.CHILLED: colors.HexColor("#1f7a4d"),
    StorageTemperature.AMBIENT: colors.HexColor("#666666"),
}
PICK_COLUMNS = [
    gettext_lazy("Zone"), gettext_lazy("SKU"), gettext_lazy("Product"), gettext_lazy("Unit"),
    gettext_lazy("Product total"), gettext_lazy("Lot"), gettext_lazy("Bin"), gettext_lazy("Expiry"),
    gettext_lazy("Quantity"),
]
SORT_COLUMNS = [
    gettext_lazy("Route"), gettext_lazy("Loading order"), gettext_lazy("Stop"), gettext_lazy("Pickup point code"),
    gettext_lazy("Pickup point"), gettext_lazy("Leader"), gettext_lazy("Crates"), gettext_lazy("SKU"),
    gettext_lazy("Product"), gettext_lazy("Zone"), gettext_lazy("Quantity"),
]


def zone_name(value: str) -> str:
    return str(StorageTemperature(value).label)


def batch_pick_csv(picks: list[PickProduct]) -> str:
    return csv_text(PICK_COLUMNS, (
        [zone_name(p.storage_temperature), p.sku, p.name, p.unit, p.total, lot.lot_id, lot.bin_location,
         lot.expiry_date, lot.quantity]
        for p in picks for lot in p.lots
    ))


def sort_list_csv(sort_list: SortList, stops: list[SortStop]) -> str:
    return csv_text(SORT_COLUMNS, (
        [sort_list.route_code, loading_order, stop.stop_number, stop.pickup_point_code, stop.pickup_point_name,
         stop.leader_name, stop.crates, line.sku, line.name, zone_name(line.storage_temperature), line.quantity]
        for loading_order, stop in enumerate(stops, start=1) for line in stop.lines
    ))


def _zone_heading(zone: str) -> Table:
    band = Table([[zone_name(zone)]], colWidths=[180 * mm], style=TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT_BOLD), ("FONTSIZE", (0, 0), (-1, -1), 14),
        ("TEXTCOLOR", (0, 0), (-1, -1), colors.white), ("BACKGROUND", (0, 0), (-1, -1), ZONE_COLOURS[zone]),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return band


def batch_pick_pdf(delivery_date: date, picks: list[PickProduct], depot_name: str | None = None) -> bytes:
    story = []
    header = [_("SKU"), _("Product"), _("Total"), _("Lot"), _("Bin"), _("Expiry"), _("Pick")]
    for zone in ZONE_ORDER:
        in_zone = [p for p in picks if p.storage_temperature == zone]
        if not in_zone:
            continue
        rows = [header]
        for p in in_zone:
            for i, lot in enumerate(p.lots):
                first = i == 0
                rows.append([p.sku if first else "", cell(p.name) if first else "", f"{p.total} {p.unit}" if first else "",
                             lot.lot_id, lot.bin_location, lot.expiry_date.isoformat(), lot.quantity])
        story += [_zone_heading(zone), Spacer(1, 2 * mm),
                  Table(rows, repeatRows=1, style=grid(("FONTSIZE", (-1, 1), (-1, -1), 12)),
                        colWidths=[24 * mm, 58 * mm, 22 * mm, 18 * mm, 20 * mm, 22 * mm, 16 * mm]),
                  Spacer(1, 6 * mm)]
    if not story:
        story = [Paragraph(escape(_("Nothing to pick.")), STYLES["Normal"])]
    title = _("Batch pick list %(day)s — %(depot)s") % {
        "day": f"{delivery_date.isoformat()} {day(delivery_date)}", "depot": depot_name or _("all depots"),
    }
    return pdf(title, story)


def _qr(text: str, size: float = 30 * mm) -> Drawing:
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


_LABEL_POINT = ParagraphStyle("label-point", fontName=FONT_BOLD, fontSize=20, leading=25, wordWrap="CJK")
_LABEL_STOP = ParagraphStyle("label-stop", fontName=FONT_BOLD, fontSize=26, leading=30, alignment=1)
_LABEL_TEXT = ParagraphStyle("label-text", fontName=FONT, fontSize=11, leading=15, wordWrap="CJK")


def _zones_of(stop: SortStop) -> list[str]:
    present = {line.storage_temperature for line in stop.lines}
    return [zone for zone in ZONE_ORDER if zone in present]


def tote_label(sort_list: SortList, stop: SortStop, crate: int) -> Table:
    """One crate's label: stop number and point name large, route, crate k of n, zones, QR."""
    zones = _zones_of(stop) or [StorageTemperature.AMBIENT]
    details = Paragraph(
        escape(_("Route %(route)s · %(day)s") % {"route": sort_list.route_code, "day": day(sort_list.delivery_date)})
        + "<br/>" + escape(stop.address)
        + "<br/>" + escape(_("Leader: %(name)s") % {"name": stop.leader_name or "—"})
        + "<br/>" + escape(_("%(units)s units") % {"units": stop.units}),
        _LABEL_TEXT,
    )
    crate_text = _("Crate %(crate)s of %(crates)s") % {"crate": crate, "crates": stop.crates}
    zone_text = " / ".join(zone_name(zone) for zone in zones)
    label = Table(
        [
            [Paragraph(escape(_("Stop %(number)s") % {"number": stop.stop_number}), _LABEL_STOP),
             Paragraph(escape(stop.pickup_point_name), _LABEL_POINT), _qr(stop.tote_label(sort_list))],
            [Paragraph(escape(crate_text), _LABEL_TEXT), details, ""],
            [zone_text, "", ""],
        ],
        colWidths=[36 * mm, 110 * mm, 34 * mm],
        style=TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("SPAN", (2, 0), (2, 1)),
            ("SPAN", (0, 2), (-1, 2)),
            ("FONTSIZE", (0, 2), (-1, 2), 14),
            ("FONTNAME", (0, 2), (-1, 2), FONT_BOLD),
            ("TEXTCOLOR", (0, 2), (-1, 2), colors.white),
            ("BACKGROUND", (0, 2), (-1, 2), ZONE_COLOURS[zones[0]]),
            ("ALIGN", (0, 2), (-1, 2), "CENTER"),
        ]),
    )
    return label


def sort_list_pdf(sort_list: SortList, stops: list[SortStop]) -> bytes:
    """The sort list in loading order, then one tote label per crate of each stop."""
    rows = [[_("Load"), _("Stop"), _("Pickup point"), _("Leader"), _("Crates"), _("Products")]]
    for loading_order, stop in enumerate(stops, start=1):
        products = "<br/>".join(
            escape(f"{line.quantity} × {line.name}（{line.sku}，{zone_name(line.storage_temperature)}）")
            for line in stop.lines
        )
        rows.append([loading_order, stop.stop_number, cell(f"{stop.pickup_point_name}\n{stop.pickup_point_code}"),
                     cell(stop.leader_name), stop.crates, Paragraph(products or "—", STYLES["BodyText"])])
    story = [
        Paragraph(escape(_("Depot %(depot)s. Load from the top: the last stop goes in first.") % {
            "depot": sort_list.depot.name}), STYLES["Normal"]),
        Spacer(1, 4 * mm),
        Table(rows, repeatRows=1, style=grid(), colWidths=[12 * mm, 12 * mm, 45 * mm, 28 * mm, 14 * mm, 69 * mm]),
        PageBreak(),
        Paragraph(escape(_("Tote labels")), STYLES["Heading2"]),
    ]
    for stop in sorted(stops, key=lambda s: s.stop_number):
        for crate in range(1, max(stop.crates, 1) + 1):
            story.append(KeepTogether([tote_label(sort_list, stop, crate), Spacer(1, 4 * mm)]))
    title = _("Sort list %(route)s — %(day)s") % {
        "route": sort_list.route_code, "day": f"{sort_list.delivery_date.isoformat()} {day(sort_list.delivery_date)}",
    }
    return pdf(title, story)
