"""Claims in batches: filing a leader's claims, and deciding claims, write exactly what the same claims make one by one."""
from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from pickup import services
from pickup.models import Claim, ClaimStatus, CommissionEntry, PickupLine, Refund
from tests.test_pickup_api import issue

pytestmark = pytest.mark.django_db


def _ledger() -> dict:
    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields))

    return {
        "refunds": rows(Refund.objects, "cause", "order_line_id", "resident_id", "claim_id", "quantity", "amount", "reason",
                        "created_by", "created_at"),
        "commission": rows(CommissionEntry.objects, "pickup_line__order_line_id", "beneficiary", "kind", "quantity",
                           "revenue", "rate", "amount", "earned_at", "due_at", "settled_at"),
        "lines": rows(PickupLine.objects, "order_line_id", "missing_quantity", "collected_quantity", "collected_at"),
        "claims": rows(Claim.objects, "pk", "status", "decided_by", "decided_at", "decision_note"),
    }


def _ledger_after(action) -> dict:
    """The ledger an action leaves, then the database as it was."""
    with transaction.atomic():
        action()
        ledger = _ledger()
        transaction.set_rollback(True)
    return ledger


def _at(day: date, hour: int, days: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=days), time(hour)))


@pytest.fixture
def claims(pickup_day, operator_api, leader):
    """Receipt claims at P1 (rice short by 4: 蔡敏 3, 李强 1); residents' claims on a settled line (王芳's rice,
    twice: two clawbacks), on her apples (settled) and on an unsettled line (丁浩's rice, collected two days late)."""
    day, (p1, p2) = pickup_day, pickup_day.points
    d = day.delivery_date
    services.confirm_receipt(user=leader, delivery_date=d, pickup_point_id=p1.pk,
                             counts=[services.ReceivedCount(day.rice.pk, 2)], now=_at(d, 8))
    codes = issue(operator_api, day)
    services.collect_with_code(user=leader, delivery_date=d, pickup_point_id=p1.pk, code=codes["王芳"], now=_at(d, 10))
    services.collect_with_code(user=leader, delivery_date=d, pickup_point_id=p2.pk, code=codes["丁浩"], now=_at(d, 10, days=2))
    assert services.settle_commissions(now=_at(d, 12, days=8)) > 0
    operator = operator_api.user

    def claim(name, product, kind):
        line = day.line(name, product)
        return services.file_claim(user=operator, order_line_id=line.pk, kind=kind, quantity=1, reason="照片", now=_at(d, 13, days=8))

    ann_rice_1, ann_rice_2 = claim("王芳", day.rice, "quality"), claim("王芳", day.rice, "damaged")
    ann_apples, dan_rice = claim("王芳", day.apples, "wrong_item"), claim("丁浩", day.rice, "damaged")
    cai, bob = (Claim.objects.get(source="receipt", pickup_line__resident__name=n) for n in ("蔡敏", "李强"))
    return [
        services.ClaimDecision(ann_rice_1.pk, True, "退一袋"),
        services.ClaimDecision(cai.pk, True),
        services.ClaimDecision(bob.pk, False, " 在车上找到了 "),
        services.ClaimDecision(ann_apples.pk, False, "照片不清楚"),
        services.ClaimDecision(dan_rice.pk, True),
        services.ClaimDecision(ann_rice_2.pk, True),
    ]


def test_a_batch_writes_the_ledger_of_the_same_decisions_one_by_one(pickup_day, operator_api, claims,
                                                                  django_assert_max_num_queries):
    operator, now = operator_api.user, _at(pickup_day.delivery_date, 9, days=9)

    def one_by_one():
        for decision in claims:
            services.decide_claim(user=operator, claim_id=decision.claim_id, approve=decision.approve, note=decision.note,
                                  now=now)

    def batch():
        with django_assert_max_num_queries(25):
            decided = services.decide_claims(user=operator, decisions=claims, now=now)
        assert [claim.pk for claim in decided] == [decision.claim_id for decision in claims]

    expected, got = _ledger_after(one_by_one), _ledger_after(batch)
    assert got == expected
    assert len(got["refunds"]) == 4 and sum(row[5] for row in got["refunds"]) > 0
    kinds = [row[2] for row in got["commission"]]
    assert kinds.count("clawback") == 2  # 王芳's settled rice, lowered twice, once per approved claim
    assert {row[1] for row in got["claims"]} == {ClaimStatus.APPROVED, ClaimStatus.REJECTED}
    bob = next(row for row in got["lines"] if row[0] == pickup_day.line("李强", pickup_day.rice).pk)
    assert bob[1] == 0  # the rejected receipt claim put his bag back at the point


def test_an_unknown_or_decided_claim_refuses_the_whole_batch_naming_the_decision(pickup_day, operator_api, claims):
    operator, now = operator_api.user, _at(pickup_day.delivery_date, 9, days=9)
    before = _ledger()
    unknown = [*claims[:2], services.ClaimDecision(max(d.claim_id for d in claims) + 99, True)]
    with pytest.raises(NotFound) as refused:
        services.decide_claims(user=operator, decisions=unknown, now=now)
    assert refused.value.field == "decisions.2.claim_id" and _ledger() == before

    twice = [*claims, claims[1]]
    with pytest.raises(Conflict) as refused:
        services.decide_claims(user=operator, decisions=twice, now=now)
    assert refused.value.field == "decisions.6.claim_id" and refused.value.code == "claim_already_decided"
    assert _ledger() == before

    services.decide_claim(user=operator, claim_id=claims[3].claim_id, approve=True, now=now)
    decided = _ledger()
    with pytest.raises(Conflict) as refused:
        services.decide_claims(user=operator, decisions=claims, now=now)
    assert refused.value.field == "decisions.3.claim_id" and _ledger() == decided
    with pytest.raises(Conflict) as refused:
        services.decide_claim(user=operator, claim_id=claims[3].claim_id, approve=False, now=now)
    assert refused.value.field == "claim_id"
    assert services.decide_claims(user=operator, decisions=[], now=now) == []


def test_a_leaders_claims_filed_together_are_those_filed_one_by_one(pickup_day, operator_api, leader):
    day, (p1, p2) = pickup_day, pickup_day.points
    d = day.delivery_date
    codes = issue(operator_api, day)
    services.collect_with_code(user=leader, delivery_date=d, pickup_point_id=p1.pk, code=codes["王芳"], now=_at(d, 10))
    services.collect_with_code(user=leader, delivery_date=d, pickup_point_id=p2.pk, code=codes["丁浩"], now=_at(d, 10))
    rice, apples, dan_rice = day.line("王芳", day.rice), day.line("王芳", day.apples), day.line("丁浩", day.rice)
    filings = [
        services.ClaimFiling(rice.pk, "damaged", 1, " 袋子破了 ", filed_at=_at(d, 12)),
        services.ClaimFiling(apples.pk, "quality", 1, "烂了", " photo-1 ", filed_at=_at(d, 13)),
        services.ClaimFiling(dan_rice.pk, "wrong_item", 1, "不是这个", filed_at=_at(d, 14)),
        services.ClaimFiling(rice.pk, "quality", 1, "又一袋", filed_at=_at(d, 15)),
    ]

    def filed(action) -> list:
        with transaction.atomic():
            action()
            rows = sorted(Claim.objects.filter(source="resident").values_list(
                "pickup_line__order_line_id", "kind", "quantity", "reason", "photo_ref", "filed_by", "filed_at", "status"))
            transaction.set_rollback(True)
        return rows

    def one_by_one():
        for f in filings:
            services.file_claim(user=leader, order_line_id=f.order_line_id, kind=f.kind, quantity=f.quantity, reason=f.reason,
                                photo_ref=f.photo_ref, now=f.filed_at)

    expected = filed(one_by_one)
    assert len(expected) == 4 and filed(lambda: services.file_claims(user=leader, filings=filings)) == expected

    collected = PickupLine.objects.get(order_line_id=rice.pk).collected_quantity
    late = services.ClaimFiling(apples.pk, "quality", 1, "晚了", filed_at=_at(d, 12, days=10))
    for batch, error, field in (
        ([filings[0], services.ClaimFiling(424242, "damaged", 1, "?")], NotFound, "claims.1.order_line_id"),
        ([services.ClaimFiling(rice.pk, "damaged", collected, "全坏了", filed_at=_at(d, 12)), filings[3]], InvalidInput,
         "claims.1.quantity"),  # the second claim on the line finds nothing left to claim
        ([filings[1], late], Conflict, "claims.1.order_line_id"),  # the claim window closed
        ([filings[2], services.ClaimFiling(rice.pk, "lost", 1, "?")], InvalidInput, "claims.1.kind"),
    ):
        with pytest.raises(error) as refused:
            services.file_claims(user=leader, filings=batch)
        assert refused.value.field == field
    assert not Claim.objects.filter(source="resident").exists()  # a refused batch files nothing
