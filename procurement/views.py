"""The procurement page: the day's purchase suggestions to accept or reject, and its purchase orders to print."""
from datetime import date, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from core.models import Role
from core.views import role_required

from . import selectors, services

BUYERS = (Role.PROCUREMENT, Role.OPERATOR)


def _day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return timezone.localdate() + timedelta(days=1)  # buyers work the evening before delivery


@role_required(*BUYERS)
def overview(request):
    delivery_date = _day(request.GET.get("date"))
    return render(
        request,
        "procurement/overview.html",
        {
            "delivery_date": delivery_date,
            "suggestions": selectors.suggestions(delivery_date),
            "purchase_orders": selectors.purchase_orders(delivery_date=delivery_date),
        },
    )


@require_POST
@role_required(*BUYERS)
def decide(request, suggestion_id: int):
    """Accept or reject one suggestion from the page, then back to the day."""
    try:
        if request.POST.get("decision") == "accept":
            orders = services.accept_suggestion(suggestion_id=suggestion_id, actor=request.user)
            messages.success(request, f"Added to {', '.join(o.number for o in orders)}.")
        else:
            services.reject_suggestion(suggestion_id=suggestion_id, actor=request.user, note=request.POST.get("note", ""))
            messages.success(request, "Suggestion rejected.")
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect(f"/procurement/?date={_day(request.POST.get('date')).isoformat()}")
