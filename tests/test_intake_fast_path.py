"""The order submission's plain-SQL path (core.rawsql) answers and stores exactly what the ORM path did."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Sum

from catalog.models import PickupPoint
from core.models import ApiToken, Role
from core.rawsql import fetch
from core.selectors import active_token
from core.services import issue_token, token_hash
from grouporders import services
from grouporders.models import Deal, LeaderOrder, LineStatus, OrderLine, Resident
from grouporders.schemas import LeaderOrderOut
from tests.conftest import make_user, order_payload, run_concurrently

pytestmark = pytest.mark.django_db


def submit(api, payload, key):
    return api.post("/api/orders", payload, headers={"Idempotency-Key": key})


def stored_order_json(order_id: int) -> dict:
    """What the submission answered before it was built by hand: the stored order through LeaderOrderOut."""
    order = LeaderOrder.objects.select_related("wave", "pickup_point").prefetch_related("lines__resident", "lines__deal__product")
    return LeaderOrderOut.from_orm(order.get(pk=order_id)).model_dump(mode="json")


def test_the_submission_answer_is_the_orders_schema(leader_api, wave, deals, network):
    point = network["points"][0]
    lines = [("Wang", "138 0013 8000", deals[0], 2), ("Li", "13900139000", deals[1], 3)]
    created = submit(leader_api, order_payload(wave, point, lines), "first")
    assert created.status_code == 201, created.content
    assert created.json() == stored_order_json(created.json()["id"])

    replaced = submit(leader_api, order_payload(wave, point, [("Zhao", "13700137000", deals[1], 1)] + lines[:1]), "second")
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert body == stored_order_json(body["id"])
    assert body["revision"] == 2 and body["total_amount"] == "28.99"
    # GET answers the same order (its renderer writes times to the millisecond).
    assert leader_api.get(f"/api/orders/{body['id']}").json()["lines"] == body["lines"]
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 1


def test_the_service_returns_a_complete_order(leader, wave, deals, network):
    point = network["points"][1]
    order = services.submit_leader_order(
        user=leader, wave_id=wave.pk, pickup_point_id=point.pk,
        lines=[services.LineInput(services.ResidentInput("Wang", "13800138000", consent=True), deals[0].pk, 2)],
    )
    stored = LeaderOrder.objects.get()
    assert (order.pk, order.revision, order.wave_id) == (stored.pk, stored.revision, stored.wave_id)
    assert order.pickup_point.name == point.name  # only the code was read; the rest loads on use
    assert LeaderOrderOut.from_orm(order).model_dump(mode="json") == stored_order_json(order.pk)
    [line] = order.current_lines
    assert OrderLine.objects.get(pk=line.pk).resident.consent is True


def test_a_long_order_is_written_whole(leader, wave, deals, network):
    """More lines than one INSERT carries on SQLite (batches), one array INSERT on PostgreSQL."""
    lines = [
        services.LineInput(services.ResidentInput(f"R{i}", f"1380000{i:04d}"), deal.pk, 1)
        for i in range(301)
        for deal in deals[:1]
    ] + [services.LineInput(services.ResidentInput(f"R{i}", f"1380000{i:04d}"), deals[1].pk, 1) for i in range(20)]
    order = services.submit_leader_order(user=leader, wave_id=wave.pk, pickup_point_id=network["points"][0].pk, lines=lines)
    stored = list(OrderLine.objects.filter(order=order).order_by("pk").values_list("pk", "resident__name", "deal_id"))
    assert [(line.pk, line.resident.name, line.deal_id) for line in order.current_lines] == stored
    assert len(stored) == 321 and Resident.objects.count() == 301
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == 20


def test_the_token_query_reads_the_user_and_only_role_groups(network):
    user = make_user("mixed", Role.LEADER)
    user.groups.add(Group.objects.create(name="newsletter"))
    raw, _ = issue_token(user=user)
    token = active_token(token_hash(raw))
    assert token.user == user and token.user.username == "mixed" and token.user.is_superuser is False
    assert token.user._role_names == {Role.LEADER.value}
    assert token.last_used_at is None

    boss = make_user("boss")
    boss.is_superuser = True
    boss.save()
    assert active_token(token_hash(issue_token(user=boss)[0])).user._role_names == {Role.OPERATOR.value}


def test_the_token_answers_with_aware_times(leader_api):
    leader_api.get("/api/orders")  # records the use
    token = active_token(token_hash(leader_api.token))
    assert token.last_used_at is not None and token.last_used_at.tzinfo is not None
    assert token.user.date_joined.tzinfo is not None
    assert token.last_used_at == ApiToken.objects.get(pk=token.pk).last_used_at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_survive_rollbacks_and_reconnections(db):
    sql = "SELECT %s + 1"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert fetch(sql, [1], prepare=True) == [(2,)]  # prepared inside a transaction that rolls back
        raise RuntimeError
    assert fetch(sql, [2], prepare=True) == [(3,)]
    connection.close()
    assert fetch(sql, [3], prepare=True) == [(4,)]  # a new session prepares it again


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_naming_the_same_new_residents_share_them(wave, deals, network):
    """Residents are inserted ON CONFLICT DO NOTHING; an order that loses the race reads the winner's rows."""
    leaders = []
    for i in range(12):
        point = PickupPoint.objects.create(
            code=f"S{i}", name=f"Shared {i}", address="x", latitude=30.3, longitude=120.2, depot=network["depot"]
        )
        user = make_user(f"sharing-leader-{i}")
        services.appoint_leader(user=user, pickup_point_ids=[point.pk])
        leaders.append((user, point))
    residents = [services.ResidentInput(f"Neighbour {r}", f"1371111{r:04d}", consent=True) for r in range(15)]

    def order(i):
        user, point = leaders[i]
        lines = [services.LineInput(resident, deals[0].pk, 1 + i % 2) for resident in residents]
        return services.submit_leader_order(user=user, wave_id=wave.pk, pickup_point_id=point.pk, lines=lines)

    results = run_concurrently(len(leaders), order)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Resident.objects.count() == 15
    assert OrderLine.objects.filter(status=LineStatus.ACTIVE).count() == 12 * 15
    assert all(len({line.resident_id for line in r.current_lines}) == 15 for r in results)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_resubmissions_of_one_order_keep_it_consistent(leader, wave, deals, network):
    """The order row is created or locked by one upsert: submissions of the same order queue behind it."""
    point = network["points"][0]

    def resubmit(i):
        lines = [services.LineInput(services.ResidentInput("Wang", "13800138000"), deals[1].pk, 1 + i % 3)]
        return services.submit_leader_order(user=leader, wave_id=wave.pk, pickup_point_id=point.pk, lines=lines)

    results = run_concurrently(10, resubmit)
    assert not [r for r in results if isinstance(r, Exception)], results
    order = LeaderOrder.objects.get()
    assert order.revision == 10 and sorted(r.revision for r in results) == list(range(1, 11))
    active = OrderLine.objects.filter(order=order, status=LineStatus.ACTIVE)
    assert active.count() == 1
    assert Deal.objects.get(pk=deals[1].pk).sold_quantity == active.aggregate(total=Sum("quantity"))["total"]
    assert Decimal(active.get().unit_price) == Decimal("3.99")
