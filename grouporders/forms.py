"""The leader's order form: one row per resident × deal, as a Django formset.

Adding and removing rows are round trips to the server (plain HTML, no script): the posted data is
re-rendered with one more blank row, or with the row marked deleted, so nothing typed is lost.
"""
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.formatting import yuan

from core.errors import ServiceError

from .models import LineStatus
from .services import LineInput, ResidentInput

# The API's bound (schemas.OrderLineIn.quantity): larger numbers would not fit the database column.
MAX_QUANTITY = 100_000

# The fields that make a row a line; a row with none of them filled is ignored.
LINE_FIELDS = ("name", "phone", "deal", "quantity")

# How the service names a line's fields (lines.<i>.<name>) → the row's form field.
FIELD_OF_SERVICE_FIELD = {"resident.name": "name", "resident.phone": "phone", "deal_id": "deal", "quantity": "quantity"}
LINE_FIELD_PATTERN = re.compile(r"lines\.(\d+)(?:\.(.+))?")


class OrderLineForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, label=_("resident name"))
    phone = forms.CharField(max_length=20, required=False, label=_("phone"))
    consent = forms.BooleanField(required=False, label=_("consent"))
    deal = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label=_("deal"))
    quantity = forms.IntegerField(required=False, max_value=MAX_QUANTITY, label=_("quantity"))
    # Only a masked copy of a resident's phone is kept, so a row of a saved order shows it as a hint
    # and names its resident by id; the phone needs retyping only to change who the line is for.
    phone_hint = forms.CharField(required=False, widget=forms.HiddenInput)
    resident_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, deals, read_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deal"].choices = [("", _("— choose a deal —"))] + [
            (deal.pk, f"{deal.product.name} · {yuan(deal.price)} / {deal.product.unit}") for deal in deals
        ]
        hint = self["phone_hint"].value()
        if hint:
            self.fields["phone"].widget.attrs["placeholder"] = hint
        if read_only:
            # An HTML attribute, not Field.disabled: the row keeps showing what was posted.
            for field in self.fields.values():
                field.widget.attrs["disabled"] = True

    def is_line(self) -> bool:
        return any(self[name].value() not in (None, "") for name in LINE_FIELDS)

    def clean(self):
        data = super().clean()
        if self.is_line():
            known_resident = data.get("resident_id") is not None
            for name in LINE_FIELDS:
                if name == "phone" and known_resident:
                    continue
                if name not in self.errors and data.get(name) in (None, ""):
                    self.add_error(name, _("required"))
        return data

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            resident=ResidentInput(
                name=data["name"], phone=data["phone"], consent=data["consent"], resident_id=data["resident_id"]
            ),
            deal_id=data["deal"],
            quantity=data["quantity"],
        )


class BaseOrderLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_error: ServiceError | None = None

    def is_removed(self, form) -> bool:
        return bool(form["DELETE"].value())

    def rows(self) -> list[OrderLineForm]:
        """The rows on screen: every form the leader has not removed."""
        return [form for form in self.forms if not self.is_removed(form)]

    def line_forms(self) -> list[OrderLineForm]:
        """The rows that make the order, in the order the service numbers its lines."""
        return [form for form in self.rows() if form.is_line()]

    def line_inputs(self) -> list[LineInput]:
        return [form.line_input() for form in self.line_forms()]

    def add_service_error(self, error: ServiceError) -> None:
        """Put the service's error on the row and field it names (lines.<i>.<field>), else on the whole form."""
        match = LINE_FIELD_PATTERN.fullmatch(error.field or "")
        line_forms = self.line_forms()
        if match and int(match[1]) < len(line_forms):
            line_forms[int(match[1])].add_error(FIELD_OF_SERVICE_FIELD.get(match[2]), error.detail)
        else:
            self.service_error = error

    def error_summary(self) -> list[str]:
        """Every error as 'row N, field: message', so the leader sees which field to fix."""
        summary = [str(error) for error in self.non_form_errors()]
        if self.service_error is not None:
            named = f"{self.service_error.field}: " if self.service_error.field else ""
            summary.append(f"{named}{self.service_error.detail}")
        for number, form in enumerate(self.rows(), start=1):
            for name, errors in form.errors.items():
                where = (
                    _("row %(number)s, %(field)s") % {"number": number, "field": form.fields[name].label or name}
                    if name in form.fields else _("row %(number)s") % {"number": number}
                )
                summary.extend(_("%(where)s: %(message)s") % {"where": where, "message": message} for message in errors)
        return summary


OrderLineFormSet = forms.formset_factory(OrderLineForm, formset=BaseOrderLineFormSet, extra=1, can_delete=True)


def with_row_added(data, prefix: str, total_forms: int):
    """The posted data with one more blank row."""
    data = data.copy()
    data[f"{prefix}-TOTAL_FORMS"] = str(total_forms + 1)
    return data


def with_row_removed(data, form_prefix: str):
    """The posted data with the row marked deleted: it leaves the screen and the order."""
    data = data.copy()
    data[f"{form_prefix}-DELETE"] = "on"
    return data


def rows_of_order(order) -> list[dict]:
    """The active lines of a saved order as form rows (its lines prefetched): residents by id, phones as hints."""
    return [
        {
            "name": line.resident.name,
            "phone_hint": line.resident.phone_masked,
            "resident_id": line.resident_id,
            "consent": line.resident.consent,
            "deal": line.deal_id,
            "quantity": line.quantity,
        }
        for line in order.lines.all()
        if line.status == LineStatus.ACTIVE
    ]
