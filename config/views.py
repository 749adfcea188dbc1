from datetime import date

from django.shortcuts import render
from django.utils import timezone

from core.models import Role
from core.views import role_required

from . import kpis

KPI_LABELS = (
    ("orders", "Leader orders"), ("lines", "Order lines"), ("units", "Units ordered"), ("gmv", "GMV (¥)"),
    ("fill_rate", "Fill rate"), ("shortage_units", "Units short"), ("shortage_refunds", "Shortage refunds (¥)"),
    ("waste_units", "Units written off"), ("vehicles_used", "Vehicles used"), ("routes", "Routes"), ("km", "Kilometres"),
    ("km_per_order", "Km per order"), ("stops", "Stops planned"), ("stops_delivered", "Stops delivered"),
    ("on_time_stop_rate", "On-time stops"), ("pickup_rate", "Pickup rate"), ("commission", "Commission accrued (¥)"),
    ("forecast_wape", "Forecast WAPE"),
)


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
        "kpis": [(label, day[key]) for key, label in KPI_LABELS],
        "refunds_by_cause": day["refunds_by_cause"],
        "runs": kpis.recent_runs(),
    })
