"""Pages of the pickup app (Django templates, session login): a point's day, and the leader's statement."""
from datetime import date
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone

from core.errors import NotFound
from core.models import Role
from core.views import role_required
from grouporders import selectors as order_selectors

from . import selectors


def _date_param(request, name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.GET[name])
    except (KeyError, ValueError):
        return default


@role_required(Role.LEADER, Role.OPERATOR)
def point_day(request):
    """A point's day: the manifest against what was received, and each resident's lines (phones masked)."""
    delivery_date = _date_param(request, "date", timezone.localdate())
    points = order_selectors.pickup_points_visible_to(request.user).order_by("code")
    chosen = request.GET.get("point", "")
    point = (points.filter(pk=int(chosen)).first() if chosen.isdigit() else None) or points.first()
    context = {"delivery_date": delivery_date, "points": points[:200], "point": point}
    if point is not None:
        context.update(products=selectors.manifest(delivery_date, point.pk), lines=selectors.point_lines(delivery_date, point.pk))
    return render(request, "pickup/point_day.html", context)


@role_required(Role.LEADER, Role.OPERATOR)
def statement(request):
    """The leader's statement for a period (this month by default), with CSV and PDF downloads."""
    today = timezone.localdate()
    start = _date_param(request, "start", today.replace(day=1))
    end = _date_param(request, "end", today)
    leader_id = request.GET.get("leader")
    try:
        leader = selectors.visible_leader(request.user, int(leader_id) if leader_id and leader_id.isdigit() else None)
    except NotFound:
        return render(request, "pickup/statement.html", {"start": start, "end": end, "statement": None}, status=404)
    query = urlencode({"start": start, "end": end, "leader_id": leader.pk})
    context = {"start": start, "end": end, "statement": selectors.statement(leader, start, end), "query": query}
    return render(request, "pickup/statement.html", context)
