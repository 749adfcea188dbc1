from datetime import date

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.formatting import yuan
from core.models import Role
from core.views import role_required
from pickup.models import RefundCause

from . import kpis

KPI_LABELS = (
    ("orders", _("Leader orders")), ("lines", _("Order lines")), ("units", _("Units ordered")), ("gmv", _("GMV")),
    ("fill_rate", _("Fill rate")), ("shortage_units", _("Units short")), ("shortage_refunds", _("Shortage refunds")),
    ("waste_units", _("Units written off")), ("vehicles_used", _("Vehicles used")), ("routes", _("Routes")),
    ("km", _("Kilometres")), ("km_per_order", _("Km per order")), ("stops", _("Stops planned")),
    ("stops_delivered", _("Stops delivered")), ("on_time_stop_rate", _("On-time stops")), ("pickup_rate", _("Pickup rate")),
    ("commission", _("Commission accrued")), ("forecast_wape", _("Forecast WAPE")),
)
MONEY_KPIS = {"gmv", "shortage_refunds", "commission"}
RATE_KPIS = {"fill_rate", "on_time_stop_rate", "pickup_rate", "forecast_wape"}

# What a step of the nightly pipeline counted, as the dashboard names it (the stored keys stay the code's).
COUNT_LABELS = {
    "demand_lines": _("demand lines"), "quantity": _("units"), "demanded": _("units demanded"),
    "allocated": _("units allocated"), "short_lines": _("short lines"), "refund_amount": _("refund amount"),
    "refunds": _("refunds"), "plans": _("route plans"), "routes": _("routes"), "stops": _("stops"),
    "dropped_stops": _("stops left out"), "distance_km": _("km"), "solver_seconds": _("solver seconds"),
    "sort_lists": _("sort lists"), "pickup_codes": _("pickup codes"), "notices": _("notices"),
}
MONEY_COUNTS = {"refund_amount"}


def _kpi_value(key: str, value) -> str | None:
    """A KPI as people read it: money as ¥0.00, ratios as percentages; None when the day has no figure."""
    if value is None:
        return None
    if key in MONEY_KPIS:
        return yuan(value)
    if key in RATE_KPIS:
        return f"{value * 100:.1f}%"
    return str(value)


def _step_counts(counts: dict) -> list[tuple[str, str]]:
    return [(str(COUNT_LABELS.get(key, key)), yuan(value) if key in MONEY_COUNTS else value) for key, value in counts.items()]


@role_required(Role.OPERATOR)
def dashboard(request):
    """The operator's day at a glance: KPIs of a delivery day and the recent pipeline runs."""
    try:
        delivery_date = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        delivery_date = timezone.localdate()
    day = kpis.day_kpis(delivery_date)
    return render(request, "pipeline/dashboard.html", {
        "delivery_date": delivery_date,
        "kpis": [(label, _kpi_value(key, day[key])) for key, label in KPI_LABELS],
        "refunds_by_cause": [(RefundCause(cause).label, amount) for cause, amount in day["refunds_by_cause"].items()],
        "runs": [(run, [(step, _step_counts(step.counts)) for step in run.steps.all()]) for run in kpis.recent_runs()],
    })
