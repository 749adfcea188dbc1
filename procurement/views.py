"""The procurement pages: the day's purchase suggestions to accept or reject and its purchase orders to print;
goods receipts with QC against the open purchase orders."""
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ServiceError
from core.models import Role
from core.views import role_required

from . import selectors, services
from .models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine, PurchaseOrderState

BUYERS = (Role.PROCUREMENT, Role.OPERATOR)
RECEIVERS = (Role.WAREHOUSE, Role.PROCUREMENT, Role.OPERATOR)


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
            messages.success(request, _("Added to %(orders)s.") % {"orders": ", ".join(o.number for o in orders)})
        else:
            services.reject_suggestion(suggestion_id=suggestion_id, actor=request.user, note=request.POST.get("note", ""))
            messages.success(request, _("Suggestion rejected."))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect(f"/procurement/?date={_day(request.POST.get('date')).isoformat()}")


# --- goods receipts ----------------------------------------------------------------------------


# Far above any delivery, far below the database column's limit.
MAX_QUANTITY = 1_000_000


class ReceiptForm(forms.Form):
    document_number = forms.CharField(max_length=64, label=gettext_lazy("document number"))


class ReceiptLineForm(forms.Form):
    accepted_quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False, label=gettext_lazy("accepted"))
    rejected_quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False, label=gettext_lazy("rejected"))
    qc_reason = forms.CharField(max_length=200, required=False, label=gettext_lazy("QC reason"))
    expiry_date = forms.DateField(required=False, label=gettext_lazy("expiry date"), widget=forms.DateInput(attrs={"type": "date"}))

    def is_counted(self) -> bool:
        return bool(self.cleaned_data.get("accepted_quantity") or self.cleaned_data.get("rejected_quantity"))

    def line_input(self, line_id: int) -> services.ReceiptLineInput:
        data = self.cleaned_data
        return services.ReceiptLineInput(
            line_id=line_id, accepted_quantity=data["accepted_quantity"] or 0, rejected_quantity=data["rejected_quantity"] or 0,
            qc_reason=data["qc_reason"], expiry_date=data["expiry_date"],
        )


# The service names a line's fields lines.<i>.<name>, <i> counting the lines sent to it.
SERVICE_LINE_FIELD = re.compile(r"lines\.(\d+)\.(\w+)")


@dataclass
class ReceiptEntry:
    """One purchase order on the page with its receipt form: a line form per order line."""

    order: PurchaseOrder
    form: ReceiptForm
    line_forms: list[tuple[PurchaseOrderLine, ReceiptLineForm]]
    problems: list[str] = field(default_factory=list)  # errors that belong to no single field

    @classmethod
    def of(cls, order: PurchaseOrder, data=None) -> "ReceiptEntry":
        prefix = f"po{order.pk}"
        return cls(
            order,
            ReceiptForm(data, prefix=prefix),
            [(line, ReceiptLineForm(data, prefix=f"{prefix}-line{line.pk}")) for line in order.lines.all()],
        )

    def counted_lines(self) -> list[tuple[PurchaseOrderLine, ReceiptLineForm]]:
        """The lines with a quantity, in the order they go to the service; empty if anything is invalid."""
        valid = all([self.form.is_valid()] + [form.is_valid() for _, form in self.line_forms])
        counted = [(line, form) for line, form in self.line_forms if valid and form.is_counted()]
        if valid and not counted:
            self.problems.append(_("lines: enter an accepted or a rejected quantity on at least one line"))
        return counted

    def add_service_error(self, error: ServiceError, counted: list[tuple[PurchaseOrderLine, ReceiptLineForm]]) -> None:
        """Put the service's error on the field it names; anything else goes at the top of the form."""
        match = SERVICE_LINE_FIELD.fullmatch(error.field or "")
        if error.field in ReceiptForm.base_fields:
            self.form.add_error(error.field, error.detail)
        elif match and int(match[1]) < len(counted) and match[2] in ReceiptLineForm.base_fields:
            counted[int(match[1])][1].add_error(match[2], error.detail)
        else:
            self.problems.append(f"{error.field}: {error.detail}" if error.field else error.detail)

    def error_summary(self) -> list[str]:
        """Every error as 'where: what', so the receiver sees which field to fix."""
        summary = list(self.problems)
        named = [("", self.form)] + [(f"{line.product.sku} ", form) for line, form in self.line_forms]
        for where, form in named:
            summary.extend(
                _("%(where)s: %(message)s") % {"where": f"{where}{form.fields[name].label}", "message": message}
                for name, errors in form.errors.items() for message in errors
            )
        return summary


def _orders():
    return selectors.purchase_orders().prefetch_related("lines__product")


def _open_orders(due_by: date):
    """Purchase orders still expecting goods, due by the day (overdue ones too), the earliest first."""
    return (
        _orders()
        .filter(state__in=(PurchaseOrderState.SENT, PurchaseOrderState.PARTIALLY_RECEIVED), expected_on__lte=due_by)
        .order_by("expected_on", "number")
    )


def _due_by(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return timezone.localdate() + timedelta(days=1)  # goods are received in the night before delivery


def _receipts_page(request, due_by: date, posted: ReceiptEntry | None = None, status: int = 200):
    """The open orders' receipt forms; one that came back with errors comes first, as it was typed."""
    others = _open_orders(due_by).exclude(pk=posted.order.pk) if posted else _open_orders(due_by)
    entries = ([posted] if posted else []) + [ReceiptEntry.of(order) for order in others]
    return render(request, "procurement/receipts.html", {"due_by": due_by, "entries": entries}, status=status)


@role_required(*RECEIVERS)
def receipts(request):
    """The open purchase orders due for receipt, each with its receipt form."""
    return _receipts_page(request, _due_by(request.GET.get("due")))


@require_POST
@role_required(*RECEIVERS)
def receive(request, purchase_order_id: int):
    """Book a receipt through the service; on an error the page comes back with every typed value and the field named."""
    due_by = _due_by(request.POST.get("due"))
    order = get_object_or_404(_orders(), pk=purchase_order_id)
    entry = ReceiptEntry.of(order, request.POST)
    counted = entry.counted_lines()
    if not counted:
        return _receipts_page(request, due_by, entry, status=422)
    try:
        receipt = services.receive_goods(
            purchase_order_id=order.pk, document_number=entry.form.cleaned_data["document_number"],
            lines=[form.line_input(line.pk) for line, form in counted], actor=request.user,
        )
    except ServiceError as exc:
        entry.add_service_error(exc, counted)
        return _receipts_page(request, due_by, entry, status=exc.status_code)
    messages.success(request, _("Receipt %(receipt)s booked against %(order)s.") % {
        "receipt": receipt.document_number, "order": order.number})
    return redirect("procurement:receipt", receipt_id=receipt.pk)


@role_required(*RECEIVERS)
def receipt(request, receipt_id: int):
    """A booked receipt: what was accepted into which lot, what was rejected and why."""
    booked = get_object_or_404(GoodsReceipt.objects.select_related("purchase_order__supplier", "received_by"), pk=receipt_id)
    lines = selectors.receipt_lines(booked).select_related("lot")
    return render(request, "procurement/receipt.html", {"receipt": booked, "lines": lines})
