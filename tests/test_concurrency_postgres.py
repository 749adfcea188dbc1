"""Row locks on real PostgreSQL: limited deals never oversell, and nothing slips past the cutoff."""
from decimal import Decimal

import pytest
from django.db.models import Sum

from catalog.models import PickupPoint
from core.errors import Conflict
from grouporders import services
from grouporders.models import Deal, DemandLine, LineStatus, OrderLine
from tests.conftest import make_user, run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUBMITTERS = 50


@pytest.fixture
def many_leaders(network):
    users = []
    for i in range(SUBMITTERS):
        point = PickupPoint.objects.create(
            code=f"C{i}", name=f"Point {i}", address="x", latitude=30.3, longitude=120.2, depot=network["depot"]
        )
        user = make_user(f"concurrent-leader-{i}")
        services.appoint_leader(user=user, pickup_point_ids=[point.pk])
        users.append((user, point))
    return users


def one_line(deal, quantity, i):
    return [services.LineInput(services.ResidentInput(f"R{i}", f"139{i:08d}"), deal.pk, quantity)]


def test_fifty_concurrent_submitters_never_oversell_twenty_units(many_leaders, wave, network):
    deal = services.create_deal(wave_id=wave.pk, product_id=network["products"][2].pk, price=Decimal("5.00"), quantity_limit=20)

    def submit(i):
        user, point = many_leaders[i]
        return services.submit_leader_order(user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=one_line(deal, 1, i))

    results = run_concurrently(SUBMITTERS, submit)

    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, Conflict) for r in refused), refused
    assert len(refused) == SUBMITTERS - 20
    sold = OrderLine.objects.filter(deal=deal, status=LineStatus.ACTIVE).aggregate(total=Sum("quantity"))["total"]
    assert sold == 20
    assert Deal.objects.get(pk=deal.pk).sold_quantity == 20


def test_uneven_concurrent_quantities_fill_the_limit_exactly_or_stay_below(many_leaders, wave, network):
    deal = services.create_deal(wave_id=wave.pk, product_id=network["products"][2].pk, price=Decimal("5.00"), quantity_limit=20)

    def submit(i):
        user, point = many_leaders[i]
        return services.submit_leader_order(
            user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=one_line(deal, 1 + i % 3, i)
        )

    run_concurrently(SUBMITTERS, submit)
    sold = OrderLine.objects.filter(deal=deal, status=LineStatus.ACTIVE).aggregate(total=Sum("quantity"))["total"]
    assert 18 <= sold <= 20  # one more order of 1–3 would overflow
    assert Deal.objects.get(pk=deal.pk).sold_quantity == sold


def test_closing_waits_for_orders_in_flight(many_leaders, wave, deals):
    """Every line that was accepted is in the demand; every later submission is refused."""

    def submit_or_close(i):
        if i == SUBMITTERS // 2:
            return services.close_wave(wave.pk)
        user, point = many_leaders[i]
        return services.submit_leader_order(
            user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=one_line(deals[0], 2, i)
        )

    results = run_concurrently(SUBMITTERS, submit_or_close)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    accepted = OrderLine.objects.filter(status=LineStatus.ACTIVE).aggregate(total=Sum("quantity"))["total"] or 0
    aggregated = DemandLine.objects.filter(wave=wave).aggregate(total=Sum("quantity"))["total"] or 0
    assert accepted == aggregated
