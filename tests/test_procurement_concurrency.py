"""Row locks on real PostgreSQL: concurrent receipts on one purchase order line never pass the tolerance together."""
import pytest

from core.errors import InvalidInput
from procurement import services
from procurement.models import GoodsReceipt
from tests.conftest import run_concurrently
from warehouse.models import Lot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def fresh_line(order):
    return order.lines.order_by("product__sku").first()


def test_two_receipts_at_once_on_one_line_cannot_both_pass_the_tolerance(sent_order):
    line = fresh_line(sent_order)  # 60 ordered, 63 allowed

    def receive(i):
        return services.receive_goods(purchase_order_id=sent_order.pk, document_number=f"GRN-C{i}",
                                      lines=[services.ReceiptLineInput(line.pk, 40)], actor=None)

    results = run_concurrently(2, receive)

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], InvalidInput), results
    assert refused[0].field == "lines.0.accepted_quantity"
    line.refresh_from_db()
    assert line.accepted_quantity == 40 and Lot.objects.get().quantity == 40


def test_the_same_receipt_sent_twice_at_once_is_booked_once(sent_order):
    line = fresh_line(sent_order)

    def receive(i):
        return services.receive_goods(purchase_order_id=sent_order.pk, document_number="GRN-SAME",
                                      lines=[services.ReceiptLineInput(line.pk, 30)], actor=None)

    results = run_concurrently(4, receive)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.pk for r in results}) == 1
    assert GoodsReceipt.objects.count() == 1 and Lot.objects.get().quantity == 30
