"""The day's KPIs across every app, for the operator's dashboard and the simulator's summary (reads only)."""
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.utils import timezone

from grouporders.models import DemandLine, LeaderOrder, LineStatus
from pickup.models import CommissionEntry, Disposition, EntryKind, PickupLine, Refund, RefundCause
from routing.models import Route, RouteStop
from warehouse.models import Allocation, DemandForecast, LineShortage, MoveKind, StockMove

from .models import PipelineRun


def _money(amount) -> str:
    # SQLite sums decimals as floats; both databases print the same cents.
    return str(Decimal(str(amount or 0)).quantize(Decimal("0.01")))


def _ratio(part, whole) -> float | None:
    return round(part / whole, 4) if whole else None


def _on_time(stop: RouteStop) -> bool:
    """Delivered, and arrived no later than the point's closing time and 30 minutes after the ETA."""
    if stop.delivered_at is None:
        return False
    arrived = timezone.localtime(stop.arrived_at or stop.delivered_at)
    latest = min(
        timezone.make_aware(datetime.combine(arrived.date(), stop.pickup_point.closes_at)),
        stop.eta + timedelta(minutes=30),
    )
    return arrived <= latest


def _forecast_wape(delivery_date: date) -> float | None:
    """Weighted absolute percentage error of the depot-level forecasts against the day's demand."""
    forecasts = {
        (row["depot_id"], row["product_id"]): row["mean"]
        for row in DemandForecast.objects.filter(delivery_date=delivery_date, pickup_point__isnull=True).values(
            "depot_id", "product_id", "mean"
        )
    }
    if not forecasts:
        return None
    actual = {
        (row["pickup_point__depot_id"], row["product_id"]): row["units"]
        for row in DemandLine.objects.filter(delivery_date=delivery_date)
        .values("pickup_point__depot_id", "product_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    }
    keys = forecasts.keys() | actual.keys()
    error = sum(abs(forecasts.get(key, 0.0) - actual.get(key, 0)) for key in keys)
    return _ratio(error, sum(actual.values()))


def day_kpis(delivery_date: date) -> dict:
    demand = DemandLine.objects.filter(delivery_date=delivery_date).aggregate(
        lines=Sum("line_count"), units=Sum("quantity"), gmv=Sum("amount")
    )
    orders = LeaderOrder.objects.filter(wave__delivery_date=delivery_date, lines__status=LineStatus.ACTIVE).distinct().count()
    allocated = Allocation.objects.filter(delivery_date=delivery_date).aggregate(units=Sum("quantity"))["units"] or 0
    shortage = LineShortage.objects.filter(delivery_date=delivery_date).aggregate(
        units=Sum("quantity"), amount=Sum("refund_amount")
    )
    routes = Route.objects.filter(plan__delivery_date=delivery_date).aggregate(
        count=Count("id"), vehicles=Count("vehicle", distinct=True), metres=Sum("distance_m"), cost=Sum("cost")
    )
    stops = list(RouteStop.objects.filter(route__plan__delivery_date=delivery_date).select_related("pickup_point"))
    delivered_stops = [stop for stop in stops if stop.delivered_at is not None]
    lines = PickupLine.objects.filter(delivery_date=delivery_date).aggregate(
        due=Sum(F("ordered_quantity") - F("shortage_quantity") - F("missing_quantity")), collected=Sum("collected_quantity")
    )
    refunds = {
        row["cause"]: row["amount"]
        for row in Refund.objects.filter(order_line__order__wave__delivery_date=delivery_date)
        .values("cause")
        .annotate(amount=Sum("amount"))
        .order_by()
    }
    commission = CommissionEntry.objects.filter(pickup_line__delivery_date=delivery_date, kind=EntryKind.ACCRUAL).aggregate(
        amount=Sum("amount")
    )["amount"]
    # Waste of the day: lots that expired the day before (written off that morning) and uncollected goods
    # written off at the points; dated by the business day rather than the wall clock of the write-off.
    expired = StockMove.objects.filter(kind=MoveKind.WRITE_OFF, lot__expiry_date=delivery_date - timedelta(days=1)).aggregate(
        units=Sum("quantity")
    )["units"]
    uncollected_waste = PickupLine.objects.filter(delivery_date=delivery_date, return_disposition=Disposition.WRITTEN_OFF).aggregate(
        units=Sum("returned_quantity")
    )["units"]
    units = demand["units"] or 0
    # Two causes an operator acts on apart: stock bought and never sold (purchasing) and goods sold
    # but never collected, which could not go back on the shelf (the points, the residents).
    expired_units, uncollected_units = -(expired or 0), uncollected_waste or 0
    km = round((routes["metres"] or 0) / 1000, 1)
    return {
        "delivery_date": delivery_date.isoformat(),
        "orders": orders,
        "lines": demand["lines"] or 0,
        "units": units,
        "gmv": _money(demand["gmv"]),
        "fill_rate": _ratio(allocated, units),
        "shortage_units": shortage["units"] or 0,
        "shortage_refunds": _money(shortage["amount"]),
        "refunds_by_cause": {cause: _money(refunds.get(cause)) for cause in RefundCause.values},
        "waste_units": expired_units + uncollected_units,
        "waste_expired_units": expired_units,
        "waste_uncollected_units": uncollected_units,
        "vehicles_used": routes["vehicles"],
        "routes": routes["count"],
        "km": km,
        "delivery_cost": _money(routes["cost"]),  # the vans' day and km costs, as planned
        "km_per_order": round(km / orders, 2) if orders else None,
        "stops": len(stops),
        "stops_delivered": len(delivered_stops),
        "on_time_stop_rate": _ratio(sum(_on_time(stop) for stop in delivered_stops), len(delivered_stops)),
        "pickup_rate": _ratio(lines["collected"] or 0, lines["due"] or 0),
        "commission": _money(commission),
        "forecast_wape": _forecast_wape(delivery_date),
    }


def recent_runs(limit: int = 14):
    return PipelineRun.objects.prefetch_related("steps")[:limit]
