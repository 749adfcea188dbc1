from datetime import date

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Role
from pickup.models import RefundCause
from core.views import role_required

from . import kpis

KPI_LABELS = (
    ("orders", _("Leader orders")), ("lines", _("Order lines")), ("units", _("Units ordered")), ("gmv", _("GMV (¥)")),
    ("fill_rate", _("Fill rate")), ("shortage_units", _("Units short")), ("shortage_refunds", _("Shortage refunds (¥)")),
    ("waste_units", _("Units written off")), ("vehicles_used", _("Vehicles used")), ("routes", _("Routes")),
    ("km", _("Kilometres")), ("km_per_order", _("Km per order")), ("stops", _("Stops planned")),
    ("stops_delivered", _("Stops delivered")), ("on_time_stop_rate", _("On-time stops")), ("pickup_rate", _("Pickup rate")),
    ("commission", _("Commission accrued (¥)")), ("forecast_wape", _("Forecast WAPE")),
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
        "refunds_by_cause": [(RefundCause(cause).label, amount) for cause, amount in day["refunds_by_cause"].items()],
        "runs": kpis.recent_runs(),
    })
