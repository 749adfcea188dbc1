"""core.bulk: the set-based writes the hot paths use, on SQLite and on PostgreSQL."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.bulk import update_rows
from grouporders.models import Deal, SalesWave

pytestmark = pytest.mark.django_db


def test_update_rows_writes_the_named_fields_of_each_row_and_nothing_else(network):
    day = timezone.localdate() + timedelta(days=3)
    waves = [
        SalesWave.objects.create(delivery_date=day + timedelta(days=n), cutoff_at=timezone.now() + timedelta(days=n))
        for n in range(3)
    ]
    deals = [
        Deal.objects.create(wave=wave, product=network["products"][0], price=Decimal("9.90"), quantity_limit=50)
        for wave in waves
    ]
    untouched = deals[2]
    deals[0].price, deals[0].quantity_limit, deals[0].is_promotion = Decimal("4.25"), None, True
    deals[1].price, deals[1].quantity_limit = Decimal("12.00"), 7
    assert update_rows(deals[:2], ["price", "quantity_limit"]) == 2
    stored = {deal.pk: deal for deal in Deal.objects.all()}
    assert (stored[deals[0].pk].price, stored[deals[0].pk].quantity_limit) == (Decimal("4.25"), None)
    assert stored[deals[0].pk].is_promotion is False  # not named: left as stored
    assert (stored[deals[1].pk].price, stored[deals[1].pk].quantity_limit) == (Decimal("12.00"), 7)
    assert (stored[untouched.pk].price, stored[untouched.pk].quantity_limit) == (Decimal("9.90"), 50)

    moved = timezone.now().replace(microsecond=123456) + timedelta(hours=5)
    for wave in waves:
        wave.cutoff_at = moved
    assert update_rows(waves, ["cutoff_at"], batch_size=2) == 3  # two batches
    assert set(SalesWave.objects.values_list("cutoff_at", flat=True)) == {moved}
    assert update_rows([], ["cutoff_at"]) == 0
