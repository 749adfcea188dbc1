"""Robustness (issue 7): schemathesis generates requests for every operation of the OpenAPI schema and
sends them in-process to the Django WSGI app, with valid tokens of every role, on a day with realistic
data. No answer may be a server error, and what the schema documents must match what is answered.

Deterministic (hypothesis derandomized), so CI reproduces any failure. It runs in the suite on SQLite and
again in CI's PostgreSQL run (`DATABASE_URL=postgres://… pytest tests/test_api_fuzz.py`), which refuses
inputs SQLite stores: NUL characters in text, integers beyond its column types.
"""
import json
import os
import time
import traceback
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.apps import apps
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ninja import Schema
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

import config.api  # noqa: F401 - mounts every app's router, so every API schema class is defined
from pipeline.models import PipelineRun
from pipeline.services import start_pipeline
from core.services import issue_token
from grouporders import services as order_services
from grouporders.models import GroupLeader, LeaderOrder, OrderLine, Resident, SalesWave
from pickup import services as pickup_services
from pickup.models import Claim
from procurement import services as procurement_services
from procurement.models import PurchaseOrderLine, PurchaseSuggestion, SupplierProduct
from routing import services as routing_services
from routing import solver
from routing.models import Route, RoutePlan, RouteStop, Vehicle
from tests.conftest import order_payload
from tests.fixtures_routing import ROUTING_DAY
from warehouse.models import DemandForecast, Lot, SortList
from warehouse.services import StockSite

pytestmark = pytest.mark.django_db

# 93 operations × 25 examples ≈ 2,300 cases (at least MIN_CASES is asserted, so a shrinking schema cannot
# pass unnoticed); API_FUZZ_EXAMPLES=200 digs deeper by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("API_FUZZ_EXAMPLES", 25))
MIN_CASES = 1_000
# The solver runs to its time limit and clients may ask for up to 600 s; the fuzz is about inputs, so every
# search gets this long whatever was asked (after the service has checked the request). Not less: a search
# left too little time to find any solution aborts the whole process inside OR-Tools (routing/solver.py).
SOLVER_SECONDS = 0.1


@pytest.fixture
def fixed_solver_time(monkeypatch):
    solve = solver.solve
    monkeypatch.setattr(solver, "solve", lambda problem, time_limit=10.0, **kw: solve(problem, SOLVER_SECONDS, **kw))


@pytest.fixture
def fuzz_day(
    fixed_solver_time, pickup_day, clock, network, leader_api, other_leader_api, operator_api, warehouse_api,
    procurement_api, procurement_user, two_vans, supplier_terms, sent_order,
):
    """Day D (pickup_day: closed, allocated) at 10:00 with codes issued, a collection, a claim, a receipt and
    shortage refunds; an open wave for D+1 with deals and a leader order; routes planned for D and the
    routing day with sort lists; suppliers, a sent and a draft purchase order, a goods receipt and
    suggestions; a pipeline run. Returns the tokens by role and the known values per parameter name."""
    day = pickup_day.delivery_date
    p1, p2 = pickup_day.points
    codes = {c.resident_name: c.code for c in pickup_services.issue_pickup_codes(delivery_date=day)}
    clock.set(day, 10)
    collected = leader_api.post("/api/pickup/collect", {"delivery_date": str(day), "pickup_point_id": p1.pk, "code": codes["王芳"]})
    assert collected.status_code == 200, collected.content
    claim = {"order_line_id": pickup_day.line("王芳", pickup_day.rice).pk, "kind": "quality", "quantity": 1, "reason": "torn bag"}
    assert leader_api.post("/api/pickup/claims", claim).status_code == 201
    receipt = {"delivery_date": str(day), "pickup_point_id": p2.pk, "lines": [{"product_id": pickup_day.rice.pk, "received_quantity": 1}]}
    assert leader_api.post("/api/pickup/receipts", receipt).status_code == 201
    pickup_services.record_shortage_refunds(delivery_date=day)

    open_wave = order_services.create_wave(delivery_date=day + timedelta(days=1))
    open_deals = [
        order_services.create_deal(wave_id=open_wave.pk, product_id=pickup_day.apples.pk, price=Decimal("11.00")),
        order_services.create_deal(wave_id=open_wave.pk, product_id=pickup_day.rice.pk, price=Decimal("28.00"),
                                   quantity_limit=30, per_resident_limit=3),
    ]
    order = order_payload(open_wave, p1, [("Eve", "13800000005", open_deals[0], 2), ("Fay", "13800000006", open_deals[1], 1)])
    assert leader_api.post("/api/orders", order).status_code == 201

    depot = network["depot"]
    for delivery_date in (ROUTING_DAY, day):
        routing_services.plan_depot_routes(depot_id=depot.pk, delivery_date=delivery_date)
    routing_services.send_stop_order_to_pick_lists(delivery_date=day)

    for product in (pickup_day.apples, pickup_day.rice):
        DemandForecast.objects.create(delivery_date=open_wave.delivery_date, product=product, depot=depot,
                                      mean=400, p50=400, p80=480, p95=550)
    procurement_services.suggest_purchases(delivery_date=open_wave.delivery_date)
    draft = procurement_services.create_purchase_order(
        supplier_id=supplier_terms["market_first"].supplier_id, delivery_date=open_wave.delivery_date,
        site=StockSite(depot_id=depot.pk), lines=[(pickup_day.apples.pk, 5)], actor=procurement_user,
    )
    sent_line = sent_order.lines.first()
    procurement_services.receive_goods(
        purchase_order_id=sent_order.pk, document_number="GRN-FUZZ", actor=procurement_user,
        lines=[procurement_services.ReceiptLineInput(sent_line.pk, 40, 2, "bruised")],
    )
    start_pipeline(delivery_date=ROUTING_DAY + timedelta(days=1))

    driver = two_vans["drivers"]["chilled"].user
    tokens = {
        "operator": operator_api.token, "leader": leader_api.token, "warehouse": warehouse_api.token,
        "procurement": procurement_api.token, "driver": issue_token(user=driver, name="fuzz")[0],
        "other leader": other_leader_api.token,
    }
    known = {
        "wave_id": SalesWave.objects.values_list("pk", flat=True),
        "deal_id": [d.pk for d in open_deals] + [line.deal_id for line in OrderLine.objects.all()[:2]],
        "pickup_point_id": [p.pk for p in network["points"]] + [p1.pk, p2.pk],
        "product_id": [pickup_day.apples.pk, pickup_day.rice.pk, *(p.pk for p in network["products"])],
        "depot_id": [depot.pk],
        "order_id": LeaderOrder.objects.values_list("pk", flat=True),
        "order_line_id": OrderLine.objects.values_list("pk", flat=True),
        "line_id": [*OrderLine.objects.values_list("pk", flat=True), *PurchaseOrderLine.objects.values_list("pk", flat=True)],
        "resident_id": Resident.objects.values_list("pk", flat=True),
        "leader_id": GroupLeader.objects.values_list("pk", flat=True),
        "lot_id": Lot.objects.values_list("pk", flat=True),
        "sort_list_id": SortList.objects.values_list("pk", flat=True),
        "supplier_id": SupplierProduct.objects.values_list("supplier_id", flat=True).distinct(),
        "supplier_product_id": SupplierProduct.objects.values_list("pk", flat=True),
        "suggestion_id": PurchaseSuggestion.objects.values_list("pk", flat=True),
        "purchase_order_id": [sent_order.pk, draft.pk],
        "plan_id": RoutePlan.objects.values_list("pk", flat=True),
        "vehicle_id": Vehicle.objects.values_list("pk", flat=True),
        "route_id": Route.objects.values_list("pk", flat=True),
        "stop_id": RouteStop.objects.values_list("pk", flat=True),
        "claim_id": Claim.objects.values_list("pk", flat=True),
        "code": list(codes.values()),
        "phone": ["13800000001", "13800000005"],
        "delivery_date": [str(d) for d in (day, day + timedelta(days=1), ROUTING_DAY, *PipelineRun.objects.values_list("delivery_date", flat=True))]
        + ["0001-01-01", "9999-12-31"],
        "start": [str(day - timedelta(days=7)), str(day)],
        "end": [str(day), str(day + timedelta(days=7))],
    }
    return tokens, {name: list(values) for name, values in known.items() if values}


def edge_values(item) -> list:
    """Values a schema allows and a database may refuse: NUL in text (PostgreSQL), integers beyond 32 and
    64 bits (PostgreSQL's integer and bigint; SQLite's integer)."""
    if type(item) is str:
        return [item + "\x00"]
    if type(item) is int:
        return [2**31, 2**63]
    return []


def use_known_values(data, value, known):
    """Swap most generated values for ones that exist, by the parameter's name, so that requests get past
    the 404s and into the business rules; the generated value stays among the choices (after the known
    ones, as hypothesis favours the first), and now and then an edge value replaces it."""
    def choose(key, item):
        edges = edge_values(item)
        if edges and data.draw(st.integers(0, 5)) == 5:
            return data.draw(st.sampled_from(edges))
        return data.draw(st.sampled_from([*known.get(key, []), item]))

    if isinstance(value, dict):
        return {key: use_known_values(data, item, known) if isinstance(item, (dict, list)) else choose(key, item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [use_known_values(data, item, known) for item in value]
    return value


def without_time_formats(node):
    """Opening hours are wall-clock times without an offset, which JSON Schema's "time" (RFC 3339
    full-time) demands; every other format (date, date-time) is still checked."""
    if isinstance(node, dict):
        return {key: without_time_formats(value) for key, value in node.items() if (key, value) != ("format", "time")}
    if isinstance(node, list):
        return [without_time_formats(item) for item in node]
    return node


@contextmanager
def in_process_requests(server_errors):
    """Requests through the WSGI handler as a real server runs them, on the test's connection: the handler
    must not close that connection after each request (Django's test client does the same), and each
    unhandled exception's traceback is kept for the report."""
    def remember(sender, request, **kwargs):
        server_errors.append(traceback.format_exc())

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.got_request_exception.connect(remember)
    try:
        yield
    finally:
        signals.got_request_exception.disconnect(remember)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_no_two_api_schemas_share_a_name():
    """The OpenAPI document keys its schemas by class name: two different schemas of one name (once
    grouporders' and procurement's OrderLineIn) documented one of them with the other's fields."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    shapes = defaultdict(set)
    for schema in subclasses(Schema):
        app = apps.get_containing_app_config(schema.__module__)
        if app is not None and not app.name.startswith(("django.", "ninja")):
            shapes[schema.__name__].add(json.dumps(schema.model_json_schema(), sort_keys=True))
    assert "LeaderOrderIn" in shapes
    assert not [name for name, variants in shapes.items() if len(variants) > 1]


def test_no_operation_answers_a_server_error(fuzz_day, capsys):
    tokens, known = fuzz_day
    schema = schemathesis.openapi.from_dict(without_time_formats(Client().get("/api/openapi.json").json()))
    schema.app = WSGIHandler()
    operations = [result.ok() for result in schema.get_all_operations()]
    roles = list(tokens)  # the operator and the leader first: between them they may call nearly everything
    cases, succeeded, statuses, seconds = Counter(), Counter(), Counter(), Counter()
    failures, server_errors = {}, []
    started = time.monotonic()

    with in_process_requests(server_errors):
        for operation in operations:
            generated = st.one_of(operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                                  operation.as_strategy(schemathesis.GenerationMode.NEGATIVE))

            # No shrinking: a failure is reported as found (with a curl line), which keeps a failing run short.
            @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=generated, role=st.sampled_from(roles), data=st.data())
            def fuzz(case, role, data):
                for part in ("path_parameters", "query", "body"):
                    setattr(case, part, use_known_values(data, getattr(case, part), known))
                cases[operation.label] += 1
                cache.clear()  # throttles and idempotency keys: each case starts alike
                # Each case in a savepoint rolled back afterwards: every case meets the same day.
                with transaction.atomic():
                    response = case.call(headers={"Authorization": f"Bearer {tokens[role]}"})
                    statuses[response.status_code // 100] += 1
                    succeeded[operation.label] += response.status_code < 300
                    transaction.set_rollback(True)
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

            operation_started = time.monotonic()
            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as failure:  # every operation is fuzzed; all failures reported at once
                failures[operation.label] = "".join(traceback.format_exception_only(failure)) + "".join(server_errors[-1:])
            server_errors.clear()
            seconds[operation.label] = time.monotonic() - operation_started

    total = sum(cases.values())
    with capsys.disabled():
        print(f"\nschemathesis {schemathesis.SCHEMATHESIS_VERSION}: {len(operations)} operations, {total} cases "
              f"in {time.monotonic() - started:.1f} s; answers by class: "
              + ", ".join(f"{k}xx {n}" for k, n in sorted(statuses.items()))
              + "; never 2xx: " + (", ".join(label for label in cases if not succeeded[label]) or "none")
              + "; slowest: " + ", ".join(f"{label} {s:.1f} s" for label, s in seconds.most_common(5)))
    assert not failures, "\n\n".join(f"=== {label}\n{text}" for label, text in failures.items())
    assert total >= MIN_CASES
    assert not [label for label in (o.label for o in operations) if cases[label] == 0]
