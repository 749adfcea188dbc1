"""One simulated business day, phase by phase, through the apps' real services and the real pipeline.

Every phase takes the simulated moment it happens at (`now=`/`at=`/`received_at=` of the services)
instead of freezing time: the clock runs D-1 evening (forecast, purchase, receipt, cutoff) to D
(deliveries, collection, claims), and the next mornings' jobs return and settle.
"""
import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from tqdm import tqdm

from grouporders import demo as orders_demo
from pickup import selectors as pickup_selectors
from pickup import services as pickup_services
from pickup.models import Claim, ClaimKind, ClaimSource, ClaimStatus, PickupLine
from pipeline.services import start_pipeline
from procurement import services as procurement_services
from procurement.models import PurchaseOrder, PurchaseOrderState, PurchaseSuggestion, SuggestionStatus
from routing import services as routing_services
from routing.models import RouteStop, RouteStopLine
from warehouse import services as warehouse_services
from warehouse.models import Allocation

from . import concurrency
from .city import FALLBACK_SUPPLIER, SimCity
from .codes import INBOX
from .streams import array_stream, stream

FORECAST_HISTORY_DAYS = 28
SUPPLIER_SHORT_SHARE = 0.15  # purchase order lines the supplier delivers short
QC_REJECT_SHARE = 0.2  # lines of fresh goods with some units rejected at QC
TRANSIT_DAMAGE_SHARE = 0.01  # products at a stop of which one unit arrives broken
TRAFFIC_SPREAD = 0.25  # a leg's drive time varies by about a quarter of the plan's (log-normal)
INCIDENT_SHARE = 0.02  # legs held up 20–50 minutes by a breakdown or a jam
CLAIM_APPROVAL = 0.8
SHORT_DELIVERY_NOTE = "the supplier will not deliver the rest"  # the buyer closes an order delivered short
MARKET_FULL_NOTE = "the market has nothing left for tonight"
# What names a resident's line of a day from run to run (database keys differ): random draws about
# the line are keyed by it.
PICKUP_LINE = ("pickup_point__code", "product__sku", "resident__phone_hash")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _bar(items, label: str, quiet: bool):
    return tqdm(items, desc=label, unit="", leave=False, disable=quiet, dynamic_ncols=True)


def morning_jobs(day: date) -> dict:
    """What beat runs in the small hours: expired stock out, uncollected goods back, due commission settled."""
    returned = pickup_services.return_uncollected(now=at(day, 1))
    return {
        "lots_expired": warehouse_services.write_off_expired(today=day),
        "returned_lines": returned.lines,
        "returned_refunds": str(returned.refund_amount),
        "commission_settled": pickup_services.settle_commissions(now=at(day, 2)),
    }


def take_orders(sim: SimCity, day: date, seed: int) -> dict:
    offer = orders_demo.open_wave(array_stream(seed, day, "promotions"), sim.city, day)
    placed = orders_demo.place_orders(stream(seed, day, "cancellations"), array_stream(seed, day, "orders"), sim.city, offer)
    return {"promotions": int(offer.promoted.sum()), **placed}


def forecast_and_buy(sim: SimCity, day: date) -> dict:
    """D-1 18:00: forecast each depot's demand, then accept the purchase suggestions and send the orders."""
    depot_ids = [depot.pk for depot in sim.city.depots]
    for depot_id in depot_ids:
        warehouse_services.forecast_depot(delivery_date=day, depot_id=depot_id, history_days=FORECAST_HISTORY_DAYS)
    run = procurement_services.suggest_purchases(delivery_date=day, depot_ids=depot_ids)
    for suggestion_id in PurchaseSuggestion.objects.filter(
        delivery_date=day, status=SuggestionStatus.PROPOSED, depot_ids=depot_ids
    ).values_list("pk", flat=True):
        procurement_services.accept_suggestion(suggestion_id=suggestion_id, actor=sim.buyer)
    orders = list(PurchaseOrder.objects.filter(delivery_date=day, state=PurchaseOrderState.DRAFT, supplier__code__startswith="DEMO-"))
    for order in orders:
        procurement_services.send_purchase_order(purchase_order_id=order.pk, actor=sim.buyer)
    return {"suggestions": run.suggestions, "units_suggested": run.units, "purchase_orders": len(orders)}


def receive_purchases(sim: SimCity, day: date, seed: int, hour: int = 21) -> dict:
    """D-1 night: the suppliers deliver, some short; QC rejects part of some fresh goods. Each
    supplier's product has its own luck, whatever else the day's purchase orders hold."""
    totals = defaultdict(int)
    cost = Decimal("0.00")
    orders = PurchaseOrder.objects.filter(
        delivery_date=day, state=PurchaseOrderState.SENT, supplier__code__startswith="DEMO-"
    ).select_related("supplier").order_by("supplier__code", "number")
    for order in orders:
        lines = []
        for line in order.lines.select_related("product").order_by("product__sku"):
            rng = stream(seed, day, "supply", order.supplier.code, line.product.sku)
            arrived = line.quantity
            if rng.random() < SUPPLIER_SHORT_SHARE:
                arrived = int(line.quantity * rng.uniform(0.5, 0.95))
            rejected = 0
            if line.product.shelf_life_days <= 7 and rng.random() < QC_REJECT_SHARE:
                rejected = min(arrived, max(1, int(arrived * rng.uniform(0.01, 0.08))))
            totals["ordered"] += line.quantity
            totals["short"] += line.quantity - arrived
            totals["rejected"] += rejected
            totals["accepted"] += arrived - rejected
            cost += line.unit_cost * (arrived - rejected)
            if arrived:
                lines.append(procurement_services.ReceiptLineInput(
                    line_id=line.pk, accepted_quantity=arrived - rejected, rejected_quantity=rejected,
                    qc_reason="bruised or soft at QC" if rejected else "",
                ))
        if lines:
            procurement_services.receive_goods(
                purchase_order_id=order.pk, document_number=f"GRN-{order.number}", lines=lines, actor=sim.warehouse_clerk,
                received_at=at(day - timedelta(days=1), hour, stream(seed, day, "supply", order.supplier.code).randint(0, 59)),
            )
            order.refresh_from_db(fields=["state"])
        if order.state == PurchaseOrderState.PARTIALLY_RECEIVED:
            # What a supplier delivers short the night before the day is not coming: the buyer closes
            # the order, or the next purchase would count the missing units as still in transit.
            procurement_services.close_purchase_order(purchase_order_id=order.pk, actor=sim.buyer, note=SHORT_DELIVERY_NOTE)
    return {
        "units_ordered": totals["ordered"], "units_accepted": totals["accepted"], "supplier_short_units": totals["short"],
        "qc_rejected_units": totals["rejected"], "purchase_cost": str(cost),
    }


def top_up(sim: SimCity, day: date, seed: int) -> dict:
    """D-1 21:30: what the night's deliveries left below the purchase targets, the buyer tops up at
    the wholesale market, the one supplier who still delivers that night (and can run short too):
    a second suggestion run, each accepted with its whole net need moved to the market, up to the
    market's free capacity."""
    depot_ids = [depot.pk for depot in sim.city.depots]
    procurement_services.suggest_purchases(delivery_date=day, depot_ids=depot_ids)
    topped_up = 0
    for suggestion in PurchaseSuggestion.objects.filter(
        delivery_date=day, status=SuggestionStatus.PROPOSED, depot_ids=depot_ids
    ).order_by("product__sku"):
        market = next((part for part in suggestion.split if part["supplier_code"] == FALLBACK_SUPPLIER[0]), None)
        quantity = min(suggestion.net_need, market["capacity"]) if market else 0
        if quantity <= 0:
            procurement_services.reject_suggestion(suggestion_id=suggestion.pk, actor=sim.buyer, note=MARKET_FULL_NOTE)
            continue
        procurement_services.accept_suggestion(
            suggestion_id=suggestion.pk, actor=sim.buyer, split=[(market["supplier_product_id"], quantity)]
        )
        topped_up += 1
    for order in PurchaseOrder.objects.filter(delivery_date=day, state=PurchaseOrderState.DRAFT, supplier__code=FALLBACK_SUPPLIER[0]):
        procurement_services.send_purchase_order(purchase_order_id=order.pk, actor=sim.buyer)
    return {"products_topped_up": topped_up, **receive_purchases(sim, day, seed, hour=22)}


def run_pipeline(day: date) -> dict:
    """The cutoff: the nightly pipeline, run by Celery (inline when eager)."""
    run = start_pipeline(delivery_date=day)
    run.refresh_from_db()
    return {
        "status": run.status,
        "steps": [
            {"name": s.name, "status": s.status, "seconds": s.duration_seconds, "counts": s.counts, "error": s.error}
            for s in run.steps.all()
        ],
    }


def deliver(sim: SimCity, day: date, seed: int, quiet: bool) -> dict:
    """D morning: each driver confirms arrival and hand-over at every stop, late by traffic and
    incidents. A van's late start is its own, the traffic on the way to a point the point's, so
    another fleet meets the same streets."""
    stops = list(
        RouteStop.objects.filter(route__plan__delivery_date=day, route__plan__depot__in=sim.city.depots)
        .select_related("route__driver__user", "route__vehicle", "pickup_point")
        .prefetch_related("lines")
        .order_by("route_id", "sequence")
    )
    sku = {product.pk: product.sku for product in sim.city.products}
    delay, left_last = {}, {}
    damaged = 0
    confirmations = []  # (driver, stop, arrived at, broken products)
    for stop in stops:
        if stop.route_id not in delay:
            late = stream(seed, day, "departure", stop.route.vehicle.code).gauss(2, 8)
            delay[stop.route_id] = timedelta(minutes=max(0.0, late))  # late leaving the depot
            left_last[stop.route_id] = stop.route.departure_at
        rng = stream(seed, day, "traffic", stop.pickup_point.code)
        # The plan's drive times are the streets' averages: a leg takes them times a factor of mean 1;
        # a driver ahead of the plan waits at the point rather than arriving before the ETA.
        leg = stop.eta - left_last[stop.route_id]
        left_last[stop.route_id] = stop.departure_at
        traffic = leg * (math.exp(rng.gauss(-TRAFFIC_SPREAD**2 / 2, TRAFFIC_SPREAD)) - 1)
        if rng.random() < INCIDENT_SHARE:
            traffic += timedelta(minutes=rng.uniform(20, 50))  # a breakdown or a jam
        delay[stop.route_id] = max(timedelta(0), delay[stop.route_id] + traffic)
        driver = stop.route.driver.user if stop.route.driver else sim.city.operator
        arrived = stop.eta + delay[stop.route_id]
        broken = [
            (line.product_id, line.quantity - 1) for line in stop.lines.all()
            if stream(seed, day, "transit damage", stop.pickup_point.code, sku[line.product_id]).random()
            < TRANSIT_DAMAGE_SHARE
        ]
        damaged += len(broken)
        confirmations.append((driver, stop, arrived, broken))

    def confirm(confirmation) -> None:
        driver, stop, arrived, broken = confirmation
        routing_services.confirm_arrival(user=driver, stop_id=stop.pk, at=arrived)
        routing_services.confirm_delivery(
            user=driver, stop_id=stop.pk, at=arrived + (stop.departure_at - stop.eta), delivered=broken or None
        )

    # The drivers at once, each van's stops in turn (a route's stops are one driver's, in order).
    by_route = defaultdict(list)
    for confirmation in confirmations:
        by_route[confirmation[1].route_id].append(confirmation)
    concurrency.each(lambda route: [confirm(c) for c in route], _bar(list(by_route.values()), "  deliveries", quiet))
    return {"stops_confirmed": len(stops), "units_damaged_in_transit": damaged}


def receive_at_points(sim: SimCity, day: date, seed: int, quiet: bool) -> dict:
    """Each leader counts what the driver handed over; an operator decides the claims that opens."""
    delivered = defaultdict(dict)
    for point_id, product_id, quantity in RouteStopLine.objects.filter(
        stop__route__plan__delivery_date=day, stop__delivered_at__isnull=False
    ).values_list("stop__pickup_point_id", "product_id", "delivered_quantity"):
        delivered[point_id][product_id] = quantity
    points = sorted(set(
        Allocation.objects.filter(delivery_date=day, pickup_point__in=sim.city.points).values_list("pickup_point_id", flat=True)
    ))

    def count(point_id: int) -> None:
        expected = pickup_selectors.expected_by_product(day, point_id)
        counts = [pickup_services.ReceivedCount(p, delivered[point_id].get(p, 0)) for p in sorted(expected)]
        pickup_services.confirm_receipt(
            user=sim.city.leader_of[point_id], delivery_date=day, pickup_point_id=point_id, counts=counts, now=at(day, 9)
        )

    concurrency.each(count, _bar(points, "  receipts", quiet))
    claims = list(
        Claim.objects.filter(pickup_line__delivery_date=day, source=ClaimSource.RECEIPT, status=ClaimStatus.OPEN)
        .values_list("pk", *(f"pickup_line__{field}" for field in PICKUP_LINE))
        .order_by(*(f"pickup_line__{field}" for field in PICKUP_LINE))
    )
    decisions = [
        # the rest turn up at the point after all
        pickup_services.ClaimDecision(claim_id, stream(seed, day, "receipt claim", *line).random() < 0.9)
        for claim_id, *line in claims
    ]
    pickup_services.decide_claims(user=sim.city.operator, decisions=decisions, now=at(day, 11))
    approved = sum(decision.approve for decision in decisions)
    return {"points_received": len(points), "receipt_claims": len(claims), "receipt_claims_approved": approved}


def collect(sim: SimCity, day: date, seed: int, quiet: bool) -> dict:
    """D daytime: residents come with their codes, except the no-shows; the leader's device checks
    each code. Whether a resident comes, and when, is the resident's own draw. Each leader's day
    of hand-overs goes through collect_many at once, which writes what they would one by one.
    Yesterday's no-shows who answer their leader's reminder come first (`collect_late`)."""
    yesterday = day - timedelta(days=1)
    late = collect_late(sim, yesterday, seed, quiet) if yesterday in INBOX else 0  # the first day has no yesterday
    no_show_rate = {
        point.pk: stream(seed, day, "no-show rate", point.code).uniform(*sim.scenario.no_show) for point in sim.city.points
    }
    collected, no_shows = _hand_over(
        sim, day, day, quiet, lambda point, resident: stream(seed, day, "collection", point.code, resident),
        comes=lambda point, rng: rng.random() >= no_show_rate[point.pk],
    )
    return {"residents_collected": collected, "no_shows": no_shows, "collected_late": late}


def collect_late(sim: SimCity, delivery_day: date, seed: int, quiet: bool) -> int:
    """The day after a delivery: the leader reminds whoever did not come (the point holds their goods
    for PICKUP_RETURN_AFTER_DAYS), and the scenario's `late_pickup` share of them comes by."""
    collected, _stayed_away = _hand_over(
        sim, delivery_day, delivery_day + timedelta(days=1), quiet,
        lambda point, resident: stream(seed, delivery_day, "late collection", point.code, resident),
        comes=lambda point, rng: rng.random() < sim.scenario.late_pickup,
    )
    INBOX.pop(delivery_day, None)  # whoever has not come by now does not come
    return collected


def _hand_over(sim: SimCity, delivery_day: date, day: date, quiet: bool, resident_stream, comes) -> tuple[int, int]:
    """The residents still owed goods of `delivery_day` who come on `day` (by `comes(point, rng)` on
    their own stream), each at a random moment of the point's opening hours; (collected, stayed away)."""
    codes = INBOX[delivery_day]
    waiting = (
        PickupLine.objects.filter(delivery_date=delivery_day, pickup_point__in=sim.city.points)
        .alias(left=pickup_selectors.left_at_point())
        .filter(left__gt=0)
        .values_list("pickup_point_id", "resident_id", "resident__phone_hash")
        .distinct()
        .order_by("pickup_point_id", "resident_id")
    )
    points = {point.pk: point for point in sim.city.points}
    stayed_away = 0
    by_leader = defaultdict(list)
    for point_id, resident_id, resident in waiting:
        point = points[point_id]
        rng = resident_stream(point, resident)
        if not comes(point, rng):
            stayed_away += 1
            continue
        opens = at(day, point.opens_at.hour, point.opens_at.minute) + timedelta(hours=1)
        window = (at(day, point.closes_at.hour) - opens).total_seconds()
        by_leader[sim.city.leader_of[point_id]].append(pickup_services.Handover(
            point_id, codes[resident_id], opens + timedelta(seconds=rng.uniform(0, window))
        ))
    collected = sum(concurrency.each(
        lambda batch: pickup_services.collect_many(user=batch[0], delivery_date=delivery_day, handovers=batch[1]),
        _bar(list(by_leader.items()), "  collection", quiet),
    ))
    return collected, stayed_away


def resident_claims(sim: SimCity, day: date, seed: int) -> dict:
    """A few residents find something wrong with what they collected; customer service decides the next day."""
    lines = PickupLine.objects.filter(
        delivery_date=day, pickup_point__in=sim.city.points, collected_quantity__gt=0
    ).order_by(*PICKUP_LINE).values_list("order_line_id", "pickup_point_id", "collected_at", *PICKUP_LINE)
    filings = []  # (leader, claim, approved) in the lines' order
    kinds = [ClaimKind.DAMAGED, ClaimKind.QUALITY, ClaimKind.WRONG_ITEM]
    for order_line_id, pickup_point_id, collected_at, *line in lines:
        rng = stream(seed, day, "resident claim", *line)
        if rng.random() >= sim.scenario.claim_share:
            continue
        filing = pickup_services.ClaimFiling(
            order_line_id, rng.choice(kinds), 1, "the resident sent a photo", filed_at=collected_at + timedelta(hours=2)
        )
        filings.append((sim.city.leader_of[pickup_point_id], filing, rng.random() < CLAIM_APPROVAL))
    # Each leader files their day's claims together.
    by_leader = defaultdict(list)
    for leader, filing, _approve in filings:
        by_leader[leader].append(filing)
    claim_id = {
        claim.pickup_line.order_line_id: claim.pk
        for leader, leaders_filings in by_leader.items()
        for claim in pickup_services.file_claims(user=leader, filings=leaders_filings)
    }
    decisions = [pickup_services.ClaimDecision(claim_id[filing.order_line_id], approve) for _leader, filing, approve in filings]
    # The next morning's queue, decided at once: what deciding each claim in turn writes.
    pickup_services.decide_claims(user=sim.city.operator, decisions=decisions, now=at(day + timedelta(days=1), 10))
    return {"claims_filed": len(decisions), "claims_approved": sum(decision.approve for decision in decisions)}


def wind_down_days(last_day: date) -> list[date]:
    """The mornings after the last day until its uncollected goods are returned and its commission settled."""
    days = max(settings.PICKUP_RETURN_AFTER_DAYS, settings.PICKUP_SETTLEMENT_DAYS) + 1
    return [last_day + timedelta(days=n) for n in range(1, days + 1)]
