"""Purchase suggestions: newsvendor targets from forecasts or orders, less stock and open orders, split over suppliers."""
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from catalog.models import Product
from core.errors import InvalidInput
from grouporders import services as order_services
from grouporders.models import Deal
from procurement import newsvendor, services
from procurement.models import PurchaseOrder, PurchaseSuggestion, SuggestionStatus, SupplierProduct
from warehouse.forecasting import nb_quantiles
from warehouse.models import DemandForecast
from warehouse.services import StockSite, receive_lot

pytestmark = pytest.mark.django_db


def nb_forecast(mean: float, size: float):
    q = nb_quantiles(np.array([mean]), np.array([size]), (0.5, 0.8, 0.95))
    return mean, int(q[0.5][0]), int(q[0.8][0]), int(q[0.95][0])


def expected_target(forecast, ratio: float) -> int:
    mean, p50, p80, p95 = forecast
    target, _ = newsvendor.newsvendor_targets(np.array([mean]), np.array([p50]), np.array([p80]), np.array([p95]), np.array([ratio]))
    return int(target[0])


@pytest.fixture
def forecasts(depot_forecast):
    fresh, dry = nb_forecast(100.0, 10.0), nb_forecast(20.0, 5.0)
    depot_forecast((0, *fresh), (1, *dry))
    return fresh, dry


def test_before_the_cutoff_the_target_is_the_forecast_quantile_at_the_critical_ratio(
    wave, deals, supplier_terms, forecasts, network
):
    fresh, dry = forecasts
    receive_lot(product_id=network["products"][0].pk, site=StockSite(depot_id=network["depot"].pk), quantity=5,
                expiry_date=wave.delivery_date + timedelta(days=3), reference="count")
    # Expires before the delivery day: not usable, so not counted.
    receive_lot(product_id=network["products"][0].pk, site=StockSite(depot_id=network["depot"].pk), quantity=50,
                expiry_date=wave.delivery_date - timedelta(days=1), reference="old")

    run = services.suggest_purchases(delivery_date=wave.delivery_date)

    assert (run.demand_source, run.depot_id, run.suggestions) == ("forecast", network["depot"].pk, 2)
    fresh_suggestion = PurchaseSuggestion.objects.get(product=network["products"][0])
    # Perishable (2 days on arrival cannot reach the next wave): salvage 0, ratio (12.50 - 7.50) / 12.50.
    assert fresh_suggestion.salvage == 0 and fresh_suggestion.critical_ratio == pytest.approx(0.4)
    target = expected_target(fresh, 0.4)
    assert target < fresh[0]  # a thin margin buys below the mean
    assert (fresh_suggestion.target, fresh_suggestion.on_hand, fresh_suggestion.in_transit) == (target, 5, 0)
    assert fresh_suggestion.net_need == target - 5
    # FARM: cases of 6 up to its 60 a day; the rest from the market in single units.
    farm, market = fresh_suggestion.split
    assert (farm["supplier_code"], farm["quantity"]) == ("FARM", 60)
    assert (market["supplier_code"], market["quantity"]) == ("MKT", target - 5 - 60)
    assert fresh_suggestion.quantity == target - 5

    dry_suggestion = PurchaseSuggestion.objects.get(product=network["products"][1])
    # Long-life: a leftover waits for the next wave at its cost less 5% carrying cost.
    assert dry_suggestion.salvage == Decimal("1.90")
    ratio = (3.99 - 2.00) / (3.99 - 1.90)
    assert dry_suggestion.critical_ratio == pytest.approx(ratio, abs=1e-4)
    assert dry_suggestion.target == expected_target(dry, ratio) > dry[0]
    assert dry_suggestion.quantity == -(-dry_suggestion.target // 10) * 10  # whole cases of 10


def test_after_the_cutoff_the_target_is_the_ordered_demand(wave, deals, supplier_terms, forecasts, leader, network):
    order_services.submit_leader_order(
        user=leader, wave_id=wave.pk, pickup_point_id=network["points"][0].pk,
        lines=[order_services.LineInput(order_services.ResidentInput("Wang", "13800138000", True), deals[0].pk, 7)],
    )
    order_services.close_wave(wave.pk)

    run = services.suggest_purchases(delivery_date=wave.delivery_date)

    assert run.demand_source == "orders" and run.suggestions == 1
    suggestion = PurchaseSuggestion.objects.get()
    assert (suggestion.target, suggestion.net_need) == (7, 7)
    # FARM's minimum is 12 (two cases of 6).
    assert [(p["supplier_code"], p["quantity"]) for p in suggestion.split] == [("FARM", 12), ("MKT", 0)]


def test_accepting_makes_draft_orders_per_supplier_which_count_as_in_transit(
    wave, deals, supplier_terms, forecasts, procurement_user, network
):
    services.suggest_purchases(delivery_date=wave.delivery_date)
    fresh = PurchaseSuggestion.objects.get(product=network["products"][0])
    orders = services.accept_suggestion(suggestion_id=fresh.pk, actor=procurement_user)

    assert sorted(o.supplier.code for o in orders) == ["FARM", "MKT"]
    assert all(o.state == "draft" and o.depot_id == network["depot"].pk for o in orders)
    assert sum(o.lines.get().quantity for o in orders) == fresh.quantity
    assert all(o.transitions.get().to_state == "draft" for o in orders)

    # A rerun replaces the proposals but sees the drafts: nothing more to buy of product 1.
    services.suggest_purchases(delivery_date=wave.delivery_date)
    assert not PurchaseSuggestion.objects.filter(product=network["products"][0], status=SuggestionStatus.PROPOSED).exists()
    assert PurchaseSuggestion.objects.get(product=network["products"][0]).status == SuggestionStatus.ACCEPTED
    dry = PurchaseSuggestion.objects.get(product=network["products"][1], status=SuggestionStatus.PROPOSED)
    services.accept_suggestion(suggestion_id=dry.pk, actor=procurement_user)
    # Product 2 joins FARM's draft for the day instead of a new order.
    assert PurchaseOrder.objects.filter(supplier__code="FARM").get().lines.count() == 2


def test_the_api_runs_lists_edits_accepts_and_rejects(wave, deals, supplier_terms, forecasts, procurement_api, network):
    run = procurement_api.post("/api/purchase-suggestions/run", {"delivery_date": str(wave.delivery_date)})
    assert run.status_code == 200 and run.json()["suggestions"] == 2
    listed = procurement_api.get("/api/purchase-suggestions", {"delivery_date": str(wave.delivery_date)}).json()["items"]
    fresh = next(s for s in listed if s["product_id"] == network["products"][0].pk)
    assert {"forecast_mean", "critical_ratio", "target", "on_hand", "in_transit", "net_need", "rounding", "split"} <= set(fresh)
    assert fresh["rounding"] == fresh["quantity"] - fresh["net_need"]

    farm_terms = supplier_terms["farm_first"].pk
    bad = procurement_api.post(f"/api/purchase-suggestions/{fresh['id']}/edit", {"split": [{"supplier_product_id": farm_terms, "quantity": 13}]})
    assert bad.status_code == 422 and bad.json()["field"] == "split.0.quantity" and bad.json()["code"] == "case_pack"
    assert "cases of 6" in bad.json()["detail"]
    edited = procurement_api.post(f"/api/purchase-suggestions/{fresh['id']}/edit", {"split": [{"supplier_product_id": farm_terms, "quantity": 18}]})
    assert edited.status_code == 200 and edited.json()["quantity"] == 18 and edited.json()["status"] == "proposed"
    accepted = procurement_api.post(f"/api/purchase-suggestions/{fresh['id']}/accept", {})
    assert accepted.status_code == 200 and [o["supplier_code"] for o in accepted.json()] == ["FARM"]
    again = procurement_api.post(f"/api/purchase-suggestions/{fresh['id']}/reject", {"note": "too late"})
    assert again.status_code == 409 and again.json()["field"] == "status"

    dry = next(s for s in listed if s["product_id"] == network["products"][1].pk)
    rejected = procurement_api.post(f"/api/purchase-suggestions/{dry['id']}/reject", {"note": "stock at the market"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_note"] == "stock at the market"


def test_bad_requests_and_roles(wave, deals, supplier_terms, procurement_api, leader_api, warehouse_api, network):
    path = "/api/purchase-suggestions/run"
    assert leader_api.post(path, {"delivery_date": str(wave.delivery_date)}).status_code == 403
    assert warehouse_api.post(path, {"delivery_date": str(wave.delivery_date)}).status_code == 403
    missing = procurement_api.post(path, {"delivery_date": str(wave.delivery_date + timedelta(days=30))})
    assert missing.status_code == 404 and missing.json()["field"] == "delivery_date"
    unknown = procurement_api.post(path, {"delivery_date": str(wave.delivery_date), "depot_ids": [999999]})
    assert unknown.status_code == 422 and unknown.json()["field"] == "depot_ids"
    assert procurement_api.post("/api/purchase-suggestions/424242/accept", {}).status_code == 404


def test_a_run_costs_the_same_queries_for_three_products_or_sixty(wave, supplier_terms, network, depot_forecast, django_assert_max_num_queries):
    """Set-based: no query per product."""
    farm = supplier_terms["farm_first"].supplier
    for i in range(60):
        product = Product.objects.create(sku=f"BULK{i}", name=f"Bulk {i}", category="veg", unit="bag", weight_g=100,
                                         volume_ml=100, storage_temperature="ambient", shelf_life_days=3)
        Deal.objects.create(wave=wave, product=product, price=Decimal("5.00"))
        SupplierProduct.objects.create(supplier=farm, product=product, unit_cost=Decimal("3.00"), case_pack=4,
                                       moq=0, daily_capacity=500, shelf_life_days=3)
        DemandForecast.objects.create(delivery_date=wave.delivery_date, product=product, depot=network["depot"],
                                      mean=20.0, p50=19, p80=24, p95=29)
    with django_assert_max_num_queries(16):
        run = services.suggest_purchases(delivery_date=wave.delivery_date)
    assert run.suggestions == 60 and run.products_without_supplier == 0


def test_depots_without_one_central_warehouse_must_name_the_receiving_site(wave, deals, supplier_terms, network):
    from catalog.models import Depot

    Depot.objects.create(code="D2", name="Depot 2", latitude=30.3, longitude=120.2)
    with pytest.raises(InvalidInput) as error:
        services.suggest_purchases(delivery_date=wave.delivery_date)
    assert error.value.field == "warehouse_id"
    run = services.suggest_purchases(delivery_date=wave.delivery_date, depot_id=network["depot"].pk)
    assert run.depot_id == network["depot"].pk


def test_the_evening_task_proposes_tomorrows_purchases(supplier_terms, network):
    from grouporders.models import SalesWave
    from procurement.tasks import suggest_tomorrows_purchases

    assert suggest_tomorrows_purchases.delay().get() == []  # no wave tomorrow: nothing to do
    tomorrow = timezone.localdate() + timedelta(days=1)
    wave = SalesWave.objects.create(delivery_date=tomorrow, cutoff_at=timezone.now() + timedelta(hours=1))
    Deal.objects.create(wave=wave, product=network["products"][0], price=Decimal("12.50"))
    DemandForecast.objects.create(delivery_date=tomorrow, product=network["products"][0], depot=network["depot"],
                                  mean=30.0, p50=29, p80=35, p95=40)
    (run,) = suggest_tomorrows_purchases.delay().get()
    assert run["delivery_date"] == tomorrow.isoformat() and run["suggestions"] == 1


def test_other_purchasing_policies_buy_up_to_the_mean_or_one_service_level(
    wave, deals, supplier_terms, forecasts, network, settings
):
    fresh, dry = forecasts
    settings.PROCUREMENT_POLICY = "mean"
    services.suggest_purchases(delivery_date=wave.delivery_date)
    assert PurchaseSuggestion.objects.get(product=network["products"][0]).target == 100  # the mean, 100.0
    assert PurchaseSuggestion.objects.get(product=network["products"][1]).target == 20

    settings.PROCUREMENT_POLICY, settings.PROCUREMENT_SERVICE_LEVEL = "service_level", 0.95
    services.suggest_purchases(delivery_date=wave.delivery_date)  # replaces the proposed suggestions
    fresh_suggestion = PurchaseSuggestion.objects.get(product=network["products"][0])
    assert fresh_suggestion.critical_ratio == pytest.approx(0.95)
    assert fresh_suggestion.target == expected_target(fresh, 0.95) > 100


def test_a_supplier_that_delivers_short_is_ordered_the_need_over_its_delivery_rate(
    wave, deals, supplier_terms, forecasts, network, procurement_user, settings
):
    settings.PROCUREMENT_DELIVERY_PRIOR_LINES = 0  # its record alone counts
    gone = timezone.localdate() + timedelta(days=1)  # what was received expires before the delivery day
    # Last week FARM brought 80 of 100 units ordered, and the buyer closed the order; an order to it still
    # open does not count (it may yet arrive in full), nor does one outside the history window.
    past = services.create_purchase_order(
        supplier_id=supplier_terms["farm_second"].supplier_id, delivery_date=wave.delivery_date - timedelta(days=7),
        site=StockSite(depot_id=network["depot"].pk), lines=[(network["products"][1].pk, 100)], actor=procurement_user,
    )
    services.send_purchase_order(purchase_order_id=past.pk, actor=procurement_user)
    services.receive_goods(
        purchase_order_id=past.pk, document_number="GRN-1", actor=procurement_user,
        lines=[services.ReceiptLineInput(line_id=past.lines.get().pk, accepted_quantity=75, rejected_quantity=5,
                                               qc_reason="包装破损", expiry_date=gone)],
    )
    services.close_purchase_order(purchase_order_id=past.pk, actor=procurement_user, note="the rest is not coming")
    for days_before, state in ((3, "sent"), (60, "closed")):
        other = services.create_purchase_order(
            supplier_id=supplier_terms["farm_second"].supplier_id, delivery_date=wave.delivery_date - timedelta(days=days_before),
            site=StockSite(warehouse_id=None, depot_id=network["depot"].pk), lines=[(network["products"][1].pk, 10)],
            actor=procurement_user,
        )
        services.send_purchase_order(purchase_order_id=other.pk, actor=procurement_user)
        if state == "closed":
            services.receive_goods(
                purchase_order_id=other.pk, document_number="GRN-2", actor=procurement_user,
                lines=[services.ReceiptLineInput(line_id=other.lines.get().pk, accepted_quantity=1, expiry_date=gone)],
            )
            services.close_purchase_order(purchase_order_id=other.pk, actor=procurement_user, note="the rest is not coming")

    services.suggest_purchases(delivery_date=wave.delivery_date)

    dry = PurchaseSuggestion.objects.get(product=network["products"][1])
    farm = dry.split[0]
    assert (farm["supplier_code"], farm["delivery_rate"]) == ("FARM", 0.75)
    assert dry.net_need > 0
    ordered = -(-dry.net_need * 4 // 3)  # the need over 0.75, rounded up
    assert farm["quantity"] == dry.quantity == -(-ordered // 10) * 10  # whole cases of 10
    fresh = PurchaseSuggestion.objects.get(product=network["products"][0])
    assert fresh.split[0]["delivery_rate"] == 0.75  # the supplier's record, whatever the product


def test_without_a_record_a_supplier_is_taken_at_its_word(wave, deals, supplier_terms, forecasts, network):
    services.suggest_purchases(delivery_date=wave.delivery_date)

    dry = PurchaseSuggestion.objects.get(product=network["products"][1])
    assert dry.split[0]["delivery_rate"] == 1.0
    assert dry.quantity == -(-dry.net_need // 10) * 10
