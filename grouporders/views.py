"""The group leader's pages: the open wave's deals, the consolidated order form, and an order with its lines."""
from contextlib import contextmanager
from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import NotFound, ServiceError
from core.models import Role
from core.views import role_required

from . import selectors, services
from .forms import OrderLineFormSet, rows_of_order, with_row_added, with_row_removed

# The home page lists orders delivered up to this many days ago, and every later one.
RECENT_ORDER_DAYS = 14
RECENT_ORDER_ROWS = 100

leader_page = role_required(Role.LEADER, Role.OPERATOR)


@contextmanager
def not_found_as_404():
    """A service's NotFound (also another leader's order) is a plain 404 page."""
    try:
        yield
    except NotFound as exc:
        raise Http404(exc.detail) from exc


@leader_page
def home(request):
    """Open waves with their deals and cutoff, the leader's points with links to order, recent orders."""
    waves = list(selectors.open_waves_with_deals())
    accepting = [wave for wave in waves if wave.accepts_orders()]
    since = timezone.localdate() - timedelta(days=RECENT_ORDER_DAYS)
    orders = list(selectors.orders_with_totals(request.user, since)[:RECENT_ORDER_ROWS])
    own_orders = {(o.pickup_point_id, o.wave_id): o for o in orders if o.leader.user_id == request.user.pk}
    points = [
        (point, [(wave, own_orders.get((point.pk, wave.pk))) for wave in accepting])
        for point in selectors.own_pickup_points(request.user)
    ]
    return render(request, "grouporders/home.html", {"waves": waves, "points": points, "orders": orders})


@leader_page
def new_order(request):
    """The order form for one of the leader's points in a wave (the next open one unless ?wave= says)."""
    point_id, wave_id = request.GET.get("point", ""), request.GET.get("wave", "")
    if not point_id.isdecimal() or not (wave_id == "" or wave_id.isdecimal()):
        raise Http404(_("choose one of your pickup points"))
    point = selectors.own_pickup_points(request.user).filter(pk=int(point_id)).first()
    if point is None:
        raise Http404(_("pickup point %(id)s is not one of yours") % {"id": point_id})
    with not_found_as_404():
        wave = selectors.wave(int(wave_id)) if wave_id else selectors.waves_accepting_orders().first()
    if wave is None:
        messages.info(request, _("No wave is open for orders now."))
        return redirect("grouporders:home")
    existing = selectors.own_order(request.user, pickup_point_id=point.pk, wave_id=wave.pk)
    if existing is not None:
        return redirect("grouporders:edit-order", order_id=existing.pk)
    return _order_form(request, wave=wave, point=point, order=None)


@leader_page
def edit_order(request, order_id: int):
    with not_found_as_404():
        order = selectors.own_order_with_lines(request.user, order_id)
    return _order_form(request, wave=order.wave, point=order.pickup_point, order=order)


def _order_form(request, *, wave, point, order):
    """Show, extend, shrink or submit the form; a submission replaces the whole order through the service."""
    read_only = not wave.accepts_orders()
    form_kwargs = {"deals": list(selectors.deals_of_wave(wave.pk)), "read_only": read_only}

    def show(formset, *, submitted=False, status=200):
        context = {"wave": wave, "point": point, "order": order, "read_only": read_only, "submitted": submitted}
        return render(request, "grouporders/order_form.html", {**context, "formset": formset}, status=status)

    if request.method != "POST":
        initial = rows_of_order(order) if order is not None else None
        return show(OrderLineFormSet(initial=initial, form_kwargs=form_kwargs))
    posted = OrderLineFormSet(request.POST, form_kwargs=form_kwargs)
    if "add_row" in request.POST:
        data = with_row_added(request.POST, posted.prefix, posted.total_form_count())
        return show(OrderLineFormSet(data, form_kwargs=form_kwargs))
    if "remove_row" in request.POST:
        data = with_row_removed(request.POST, request.POST["remove_row"])
        return show(OrderLineFormSet(data, form_kwargs=form_kwargs))
    if read_only:
        return show(posted, submitted=True, status=409)
    if not posted.is_valid():
        return show(posted, submitted=True, status=422)
    try:
        saved = services.submit_leader_order(
            user=request.user, wave_id=wave.pk, pickup_point_id=point.pk, lines=posted.line_inputs()
        )
    except ServiceError as exc:
        posted.add_service_error(exc)
        return show(posted, submitted=True, status=exc.status_code)
    messages.success(request, _("Order for %(point)s saved with %(lines)s lines.") % {
        "point": point.name, "lines": len(saved.current_lines)})
    return redirect("grouporders:order", order_id=saved.pk)


@leader_page
def order_detail(request, order_id: int):
    with not_found_as_404():
        statement = selectors.order_statement(request.user, order_id)
    order = statement.order
    # Operators may look at any order; only its leader changes it, and only before the cutoff.
    can_change = order.leader.user_id == request.user.pk and order.wave.accepts_orders()
    return render(request, "grouporders/order_detail.html", {"statement": statement, "order": order, "can_change": can_change})


def _change_order(request, order_id: int, change, done: str):
    """Run a cancelling service, then go back to the order (post/redirect/get) with what happened."""
    try:
        with not_found_as_404():
            change()
    except ServiceError as exc:  # NotFound has become a 404 already
        messages.error(request, exc.detail)
    else:
        messages.success(request, done)
    return redirect("grouporders:order", order_id=order_id)


@require_POST
@leader_page
def cancel_order(request, order_id: int):
    return _change_order(
        request, order_id, lambda: services.cancel_leader_order(user=request.user, order_id=order_id), _("Order cancelled.")
    )


@require_POST
@leader_page
def cancel_line(request, order_id: int, line_id: int):
    return _change_order(
        request,
        order_id,
        lambda: services.cancel_order_line(user=request.user, order_id=order_id, line_id=line_id),
        _("Line cancelled."),
    )
