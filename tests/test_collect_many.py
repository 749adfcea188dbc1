"""collect_many: a batch of hand-overs writes exactly the ledger that the same hand-overs make one by one."""
from datetime import datetime, time

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.errors import Conflict, InvalidInput
from pickup import services
from pickup.models import Collection, CommissionEntry, PickupLine
from tests.test_pickup_api import issue

pytestmark = pytest.mark.django_db

# Thresholds this small day crosses: the rate of a line depends on what was collected before it.
TIERS = {"ordinary": [[0, "0.05"], [40, "0.08"], [100, "0.10"]], "core": [[0, "0.10"]]}


class _Undo(Exception):
    pass


def _ledger() -> dict:
    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields))

    return {
        "commission": rows(CommissionEntry.objects, "pickup_line__order_line_id", "beneficiary", "kind", "quantity",
                           "revenue", "rate", "amount", "earned_at", "due_at"),
        "collections": rows(Collection.objects, "pickup_line__order_line_id", "quantity", "collected_at", "collected_by"),
        "lines": rows(PickupLine.objects, "order_line_id", "collected_quantity", "collected_at"),
    }


def _ledger_after(action) -> dict:
    """The ledger an action leaves, then the database as it was."""
    try:
        with transaction.atomic():
            action()
            ledger = _ledger()
            raise _Undo
    except _Undo:
        return ledger


@pytest.fixture
def handovers(pickup_day, operator_api, leader, settings):
    settings.PICKUP_COMMISSION_TIERS = TIERS
    day, (p1, p2) = pickup_day, pickup_day.points
    codes = issue(operator_api, day)

    def at(hour: int, minute: int = 0) -> datetime:
        return timezone.make_aware(datetime.combine(day.delivery_date, time(hour, minute)))

    # 蔡敏 took one of her three bags of rice in the morning; the rest of her goods waits for the afternoon.
    cai_rice = day.line("蔡敏", day.rice)
    services.collect_with_code(user=leader, delivery_date=day.delivery_date, pickup_point_id=p1.pk, code=codes["蔡敏"],
                               quantities={cai_rice.pk: 1}, now=at(9))
    # Not in time order, across both of the leader's points, two at one moment.
    return [
        services.Handover(p1.pk, codes["李强"], at(14)),
        services.Handover(p2.pk, codes["丁浩"], at(11)),
        services.Handover(p1.pk, codes["王芳"], at(11)),
        services.Handover(p1.pk, f" {codes['蔡敏']} ", at(15)),
    ]


def test_a_batch_writes_the_ledger_of_the_same_hand_overs_one_by_one(pickup_day, leader, handovers,
                                                                   django_assert_max_num_queries):
    day = pickup_day

    def one_by_one():
        for handover in sorted(handovers, key=lambda h: h.at):  # stable: the two at 11:00 in the given order
            services.collect_with_code(user=leader, delivery_date=day.delivery_date, pickup_point_id=handover.pickup_point_id,
                                       code=handover.code, now=handover.at)

    def batch():
        with django_assert_max_num_queries(20):
            assert services.collect_many(user=leader, delivery_date=day.delivery_date, handovers=handovers) == 4

    expected, got = _ledger_after(one_by_one), _ledger_after(batch)
    assert got == expected
    leader_rates = {row[5] for row in got["commission"] if row[1] == "leader"}
    assert len(leader_rates) >= 2  # the thresholds were crossed within the day: the order of the moments mattered
    assert len(got["collections"]) == 1 + 6  # 蔡敏's morning bag, then every line of the four residents


def test_a_wrong_code_or_a_resident_twice_refuses_the_whole_batch_naming_the_hand_over(pickup_day, leader, handovers):
    day = pickup_day
    before = _ledger()
    wrong = [*handovers[:2], services.Handover(handovers[2].pickup_point_id, "000000", handovers[2].at)]
    with pytest.raises(InvalidInput) as refused:
        services.collect_many(user=leader, delivery_date=day.delivery_date, handovers=wrong)
    assert refused.value.field == "handovers.2.code" and _ledger() == before

    twice = [*handovers, handovers[0]]
    with pytest.raises(Conflict) as refused:
        services.collect_many(user=leader, delivery_date=day.delivery_date, handovers=twice)
    assert refused.value.field == "handovers.4.code" and _ledger() == before
    assert services.collect_many(user=leader, delivery_date=day.delivery_date, handovers=[]) == 0


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(
    hours=st.lists(st.integers(9, 20), min_size=4, max_size=4),
    morning=st.integers(8, 21),
    thresholds=st.tuples(st.integers(1, 60), st.integers(61, 200)),
)
def test_any_moments_and_tiers_give_the_ledger_of_one_by_one(pickup_day, operator_api, leader, settings, hours, morning,
                                                             thresholds):
    """Whatever the moments (ties, and 蔡敏's partial collection before or after the batch's others) and
    wherever the tier thresholds lie, the batch's rates are those of the hand-overs in turn."""
    settings.PICKUP_COMMISSION_TIERS = {"ordinary": [[0, "0.05"], [thresholds[0], "0.08"], [thresholds[1], "0.10"]],
                                        "core": [[0, "0.10"]]}
    day, (p1, p2) = pickup_day, pickup_day.points
    codes = getattr(pickup_day, "codes", None) or issue(operator_api, day)
    pickup_day.codes = codes  # issued once: each example's writes are rolled back

    def at(hour: int) -> datetime:
        return timezone.make_aware(datetime.combine(day.delivery_date, time(hour)))

    handovers = [services.Handover(point.pk, codes[name], at(hour))
                 for (point, name), hour in zip([(p1, "李强"), (p2, "丁浩"), (p1, "王芳"), (p1, "蔡敏")], hours)]

    def partial():
        services.collect_with_code(user=leader, delivery_date=day.delivery_date, pickup_point_id=p1.pk, code=codes["蔡敏"],
                                   quantities={day.line("蔡敏", day.rice).pk: 1}, now=at(morning))

    def one_by_one():
        partial()
        for handover in sorted(handovers, key=lambda h: h.at):
            services.collect_with_code(user=leader, delivery_date=day.delivery_date, pickup_point_id=handover.pickup_point_id,
                                       code=handover.code, now=handover.at)

    def batch():
        partial()
        services.collect_many(user=leader, delivery_date=day.delivery_date, handovers=handovers)

    assert _ledger_after(batch) == _ledger_after(one_by_one)
