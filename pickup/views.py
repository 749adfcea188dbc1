"""Pages of the pickup app (Django templates, session login): a point's day — the delivery and its receipt,
the pickup-code check and hand-over, the residents' lines — and the leader's statement."""
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import NotFound, ServiceError
from core.models import Role
from core.views import role_required
from grouporders import selectors as order_selectors
from routing import selectors as routing_selectors

from . import selectors, services
from .models import ClaimSource

point_page = role_required(Role.LEADER, Role.OPERATOR)

# Far above any delivery, far below the database column's limit.
MAX_QUANTITY = 1_000_000


def _date_param(params, name: str, default: date) -> date:
    try:
        return date.fromisoformat(params[name])
    except (KeyError, ValueError):
        return default


def _point_and_day(request, params):
    """The chosen point (404 if it is not the caller's) and day; without a point, the caller's first one."""
    points = order_selectors.pickup_points_visible_to(request.user).order_by("code")
    delivery_date = _date_param(params, "date", timezone.localdate())
    chosen = params.get("point", "")
    if not chosen:
        return points, points.first(), delivery_date
    point = points.filter(pk=int(chosen)).first() if chosen.isdecimal() else None
    if point is None:
        raise Http404(_("pickup point %(id)s is not one of yours") % {"id": chosen})
    return points, point, delivery_date


def _day_url(point, delivery_date: date) -> str:
    return f"{reverse('pickup:point-day')}?{urlencode({'point': point.pk, 'date': delivery_date})}"


# --- forms ---------------------------------------------------------------------------------------


def _quantity_field(label: str, **kwargs) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=MAX_QUANTITY, required=False, **kwargs)


class ReceiptCountForm(forms.Form):
    """What arrived, one field per product still to confirm (`received_<product id>`); empty = not counted yet."""

    def __init__(self, data=None, *, products, initial_counts):
        super().__init__(data)
        for product in products:
            self.fields[f"received_{product.product_id}"] = _quantity_field(
                _("%(product)s received") % {"product": product.name}, initial=initial_counts.get(product.product_id)
            )

    def field_of(self, product):
        """The product's count field, or None once its receipt is confirmed."""
        name = f"received_{product.product_id}"
        return self[name] if product.received is None and name in self.fields else None

    def counts(self) -> list[services.ReceivedCount]:
        return [
            services.ReceivedCount(int(name.removeprefix("received_")), value)
            for name, value in self.cleaned_data.items()
            if value is not None
        ]


class HandOverForm(forms.Form):
    """The resident's code, and what to hand over now per order line (`quantity_<order line id>`)."""

    code = forms.CharField(
        max_length=20, label=gettext_lazy("pickup code"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )

    def __init__(self, data=None, *, lines=(), **kwargs):
        super().__init__(data, **kwargs)
        for line in lines:
            if line.collectable_quantity:
                self.fields[f"quantity_{line.order_line_id}"] = _quantity_field(
                    _("%(product)s to hand over") % {"product": line.product.name}, initial=line.collectable_quantity
                )

    def quantities(self) -> dict[int, int]:
        """Units per order line to hand over now; lines left at 0 stay at the point."""
        return {
            int(name.removeprefix("quantity_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("quantity_") and value
        }


# --- the point's day -------------------------------------------------------------------------------


def _render_day(request, points, point, delivery_date: date, *, receipt_form=None, hand_over=None, status=200):
    """The whole page; the forms come back bound (with what was typed and the errors) after a failed post."""
    hand_over = hand_over or CodeCheck(HandOverForm())
    context = {"delivery_date": delivery_date, "points": points[:200], "point": point, "hand_over": hand_over}
    if point is None:
        return render(request, "pickup/point_day.html", context, status=status)
    products = selectors.manifest(delivery_date, point.pk)
    stop = routing_selectors.stop_of_point(delivery_date, point.pk)
    on_van = {line.product_id: line for line in stop.lines.all()} if stop else {}
    handed_over = {pid: line.delivered_quantity for pid, line in on_van.items() if line.delivered_quantity is not None}
    to_confirm = [p for p in products if p.received is None]
    receipt_form = receipt_form or ReceiptCountForm(products=to_confirm, initial_counts=handed_over)
    context.update(
        stop=stop,
        deliveries=[
            {
                "product": p,
                "on_van": on_van[p.product_id].quantity if p.product_id in on_van else None,
                "handed_over": handed_over.get(p.product_id),
                "difference": None if p.received is None else p.received - p.expected,
                "field": receipt_form.field_of(p),
            }
            for p in products
        ],
        receipt_form=receipt_form,
        to_confirm=bool(to_confirm),
        receipt_claims=selectors.claims_visible_to(request.user).filter(
            source=ClaimSource.RECEIPT, pickup_line__delivery_date=delivery_date, pickup_line__pickup_point=point
        ).order_by("pickup_line__product__sku", "pickup_line__resident__name"),
        lines=selectors.point_lines(delivery_date, point.pk),
    )
    return render(request, "pickup/point_day.html", context, status=status)


@point_page
def point_day(request):
    """A point's day: the delivery and its receipt, the pickup-code check, each resident's lines (phones masked)."""
    points, point, delivery_date = _point_and_day(request, request.GET)
    return _render_day(request, points, point, delivery_date)


def _add_service_error(form: forms.Form, error: ServiceError, line_fields: list[str]) -> None:
    """Put a service error on line i's form field (the service names it `lines.<i>.<name>`), else on the whole form."""
    parts = (error.field or "").split(".")
    index = int(parts[1]) if len(parts) == 3 and parts[0] == "lines" and parts[1].isdecimal() else len(line_fields)
    form.add_error(line_fields[index] if index < len(line_fields) else None, error.detail)


def _posted_point_and_day(request):
    """A write names its point: no default one."""
    if not request.POST.get("point"):
        raise Http404(_("choose one of your pickup points"))
    return _point_and_day(request, request.POST)


@require_POST
@point_page
def confirm_receipt(request):
    """The leader's count of what arrived; a count below the manifest opens claims, shown on the page."""
    points, point, delivery_date = _posted_point_and_day(request)
    # Every product of the manifest: a count for one confirmed meanwhile (another device) gets the service's 409.
    form = ReceiptCountForm(request.POST, products=selectors.manifest(delivery_date, point.pk), initial_counts={})
    if form.is_valid() and not form.counts():
        form.add_error(None, _("enter what arrived of at least one product"))
    if not form.is_valid():
        return _render_day(request, points, point, delivery_date, receipt_form=form, status=422)
    counts = form.counts()
    try:
        receipts = services.confirm_receipt(user=request.user, delivery_date=delivery_date, pickup_point_id=point.pk, counts=counts)
    except ServiceError as exc:
        _add_service_error(form, exc, [f"received_{count.product_id}" for count in counts])
        return _render_day(request, points, point, delivery_date, receipt_form=form, status=exc.status_code)
    short = sum(1 for receipt in receipts if receipt.difference < 0)
    if short:
        done = _("Receipt of %(count)s product(s) confirmed. %(short)s came short: claims were opened for the residents' missing units.")
    else:
        done = _("Receipt of %(count)s product(s) confirmed.")
    messages.success(request, done % {"count": len(receipts), "short": short})
    return redirect(_day_url(point, delivery_date))


class CodeCheck:
    """The code-check part of the page: the code form, and once a code is verified the resident, their
    lines here today and a field per line still to hand out."""

    def __init__(self, form: HandOverForm, verified: services.PickupResult | None = None):
        self.form = form
        self.code = form["code"].value()
        self.resident = verified.resident if verified else None
        self.rows = [
            (line, form[f"quantity_{line.order_line_id}"] if line.collectable_quantity else None)
            for line in (verified.lines if verified else [])
        ]
        self.collectable = any(field is not None for _, field in self.rows)


def _hand_over_error(form: HandOverForm, error: ServiceError, point, order_line_ids: list[int]) -> None:
    if error.field == "code":  # a wrong code, or the lock after too many (its message says until when)
        form.add_error("code", error.detail)
    else:
        _add_service_error(form, error, [f"quantity_{order_line_id}" for order_line_id in order_line_ids])


@require_POST
@point_page
def check_code(request):
    """Check a resident's code and show their lines; then hand over everything left, or the quantities entered."""
    points, point, delivery_date = _posted_point_and_day(request)

    def page(form, verified=None, status=200):
        return _render_day(request, points, point, delivery_date, hand_over=CodeCheck(form, verified), status=status)

    form = HandOverForm(request.POST)
    if not form.is_valid():
        return page(form, status=422)
    code, action = form.cleaned_data["code"], request.POST.get("hand_over")
    try:
        verified = services.verify_pickup_code(user=request.user, delivery_date=delivery_date, pickup_point_id=point.pk, code=code)
    except ServiceError as exc:
        _hand_over_error(form, exc, point, [])
        return page(form, status=exc.status_code)
    form = HandOverForm(request.POST, lines=verified.lines)
    if action not in ("all", "entered"):
        return page(HandOverForm(initial={"code": code}, lines=verified.lines), verified)
    if action == "entered" and form.is_valid() and not form.quantities():
        form.add_error(None, _("enter a quantity to hand over on at least one line"))
    if action == "entered" and not form.is_valid():
        return page(form, verified, status=422)
    quantities = form.quantities() if action == "entered" else None
    try:
        done = services.collect_with_code(
            user=request.user, delivery_date=delivery_date, pickup_point_id=point.pk, code=code, quantities=quantities
        )
    except ServiceError as exc:
        _hand_over_error(form, exc, point, list(quantities or {}))
        return page(form, verified, status=exc.status_code)
    handed = ", ".join(f"{line.product.name} × {done.collected[line.order_line_id]}" for line in done.lines if line.order_line_id in done.collected)
    messages.success(request, _("Handed over to %(resident)s (%(phone)s): %(goods)s.") % {
        "resident": done.resident.name, "phone": done.resident.phone_masked, "goods": handed})
    return redirect(_day_url(point, delivery_date))


@point_page
def statement(request):
    """The leader's statement for a period (this month by default), with CSV and PDF downloads."""
    today = timezone.localdate()
    start = _date_param(request.GET, "start", today.replace(day=1))
    end = _date_param(request.GET, "end", today)
    leader_id = request.GET.get("leader")
    try:
        leader = selectors.visible_leader(request.user, int(leader_id) if leader_id and leader_id.isdigit() else None)
    except NotFound:
        return render(request, "pickup/statement.html", {"start": start, "end": end, "statement": None}, status=404)
    query = urlencode({"start": start, "end": end, "leader_id": leader.pk})
    context = {"start": start, "end": end, "statement": selectors.statement(leader, start, end), "query": query}
    return render(request, "pickup/statement.html", context)
