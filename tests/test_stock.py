"""Lots and the stock ledger: receipts, moves, counts, write-offs, and the ledger check."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from warehouse import services
from warehouse.models import Lot, MoveKind, StockMove
from warehouse.selectors import ledger_mismatches, usable_lots
from tests.conftest import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(network):
    return services.receive_lot(
        product_id=network["products"][0].pk,
        site=services.StockSite(depot_id=network["depot"].pk),
        quantity=100,
        expiry_date=timezone.localdate() + timedelta(days=5),
        reference="GRN-1",
    )


def test_a_receipt_creates_a_lot_and_its_ledger_entry(lot):
    assert lot.quantity == 100
    assert list(lot.moves.values_list("kind", "quantity")) == [(MoveKind.RECEIPT, 100)]
    assert ledger_mismatches() == []


def test_a_move_that_would_go_negative_is_refused_and_changes_nothing(lot):
    services.move_stock(lot_id=lot.pk, kind=MoveKind.PICK, quantity=-60, reason="picked")
    with pytest.raises(Conflict) as refused:
        services.move_stock(lot_id=lot.pk, kind=MoveKind.PICK, quantity=-41, reason="picked")
    assert refused.value.code == "insufficient_stock" and "40" in refused.value.detail
    lot.refresh_from_db()
    assert lot.quantity == 40 and lot.moves.count() == 2


def test_the_database_itself_refuses_negative_stock(lot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(quantity=-1)


def test_a_count_books_the_difference_as_an_adjustment(lot):
    move = services.count_stock(lot_id=lot.pk, counted=97)
    assert (move.kind, move.quantity) == (MoveKind.ADJUSTMENT, -3)
    assert services.count_stock(lot_id=lot.pk, counted=97) is None
    with pytest.raises(InvalidInput):
        services.count_stock(lot_id=lot.pk, counted=-1)
    call_command("check_stock_ledger")


def test_the_ledger_check_catches_a_balance_changed_behind_its_back(lot):
    Lot.objects.filter(pk=lot.pk).update(quantity=99)
    with pytest.raises(CommandError):
        call_command("check_stock_ledger")


def test_expired_lots_are_written_off_and_never_usable(lot, network):
    old = services.receive_lot(
        product_id=network["products"][0].pk, site=services.StockSite(depot_id=network["depot"].pk),
        quantity=7, expiry_date=timezone.localdate() - timedelta(days=1),
    )
    assert list(usable_lots(timezone.localdate())) == [lot]
    assert services.write_off_expired() == 1
    old.refresh_from_db()
    assert old.quantity == 0 and old.written_off_at is not None
    assert old.moves.last().kind == MoveKind.WRITE_OFF
    assert services.write_off_expired() == 0
    assert ledger_mismatches() == []


def test_transfer_keeps_expiry_and_balances(lot, network):
    from catalog.models import Warehouse

    central = Warehouse.objects.create(code="W1", name="Central", latitude=30.3, longitude=120.1)
    moved = services.transfer_stock(lot_id=lot.pk, to=services.StockSite(warehouse_id=central.pk), quantity=30)
    assert moved.expiry_date == lot.expiry_date and moved.quantity == 30
    lot.refresh_from_db()
    assert lot.quantity == 70 and ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_picks_never_take_more_than_the_lot_holds(lot):
    results = run_concurrently(
        30, lambda i: services.move_stock(lot_id=lot.pk, kind=MoveKind.PICK, quantity=-7, reason=f"picker {i}")
    )
    taken = [r for r in results if isinstance(r, StockMove)]
    assert all(isinstance(r, (StockMove, Conflict)) for r in results)
    assert len(taken) == 14  # 14 × 7 = 98 ≤ 100 < 15 × 7
    lot.refresh_from_db()
    assert lot.quantity == 2 and ledger_mismatches() == []
