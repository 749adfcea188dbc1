"""Every kind of PDF prints Chinese: the CJK font is embedded, Helvetica is gone, and the Chinese names read back."""
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import pdf_text
from tests.test_pickup_api import at_the_point, collect  # noqa: F401 - the fixture, reused
from tests.test_pick_lists import allocated_day  # noqa: F401 - the fixture, reused

pytestmark = pytest.mark.django_db
# The test clients ask for English by default; documents are checked in the users' language.
ZH = {"Accept-Language": "zh-hans"}


def _fonts(content: bytes) -> dict[str, bool]:
    """Base font name -> whether its glyphs are embedded (FontFile2 for TrueType), over every page."""
    fonts = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            embedded = bool(descriptor) and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


def _assert_prints_chinese(response, *names):
    # Kept for a person to open: `pdffonts`, `pdftoppm -png` (CI keeps var/test-artifacts/).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / response["Content-Disposition"].split('filename="')[1].rstrip('"')).write_bytes(response.content)
    fonts = _fonts(response.content)
    assert fonts and all("NotoSansSC" in name and embedded for name, embedded in fonts.items()), fonts
    assert not any("Helvetica" in name for name in fonts)
    text = pdf_text(response)
    for name in names:
        assert name in text, (name, text[:400])


def test_pick_list_sort_list_and_tote_labels(warehouse_api, allocated_day, network):  # noqa: F811
    depot, (p1, p2, _p3), (apples, spinach, _) = network["depot"], network["points"], network["products"]
    _assert_prints_chinese(
        warehouse_api.get("/api/pick-lists/batch.pdf", {"delivery_date": allocated_day, "depot_id": depot.pk}, headers=ZH),
        "汇总拣货单", depot.name, apples.name, spinach.name, "冷藏",
    )
    sort_lists = warehouse_api.post("/api/sort-lists", {"delivery_date": allocated_day.isoformat(), "routes": [
        {"route_code": "R1", "depot_id": depot.pk, "pickup_point_ids": [p2.pk, p1.pk]},
    ]}).json()
    _assert_prints_chinese(
        warehouse_api.get(f"/api/sort-lists/{sort_lists[0]['id']}.pdf", headers=ZH),
        "分拣单", "周转筐标签", p1.name, p2.name, "王丽", depot.name, "第 2 站", "第 1 / 共 2 筐", "冷藏",
    )


def test_purchase_order(sent_order, warehouse_api, network):
    _assert_prints_chinese(
        warehouse_api.get(f"/api/purchase-orders/{sent_order.pk}.pdf", headers=ZH),
        "采购单", sent_order.supplier.name, "李师傅", network["products"][0].name, network["depot"].name, "合计",
    )


def test_leader_statement(pickup_day, at_the_point, leader_api):
    day = pickup_day
    collect(leader_api, day, day.points[0], at_the_point["王芳"])
    period = {"start": day.delivery_date, "end": day.delivery_date}
    _assert_prints_chinese(
        leader_api.get("/api/pickup/statements.pdf", period, headers=ZH),
        "佣金对账单", "王丽", day.points[0].name, day.apples.name, "计提", "¥",
    )


def test_documents_follow_the_callers_language(warehouse_api, sent_order):
    english = warehouse_api.get(f"/api/purchase-orders/{sent_order.pk}.pdf", headers={"Accept-Language": "en"})
    assert "Purchase order" in pdf_text(english) and sent_order.supplier.name in pdf_text(english)
