from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import TypeAdapter, field_validator

from core.schemas import InputSchema, Text, input_error


class ResidentIn(InputSchema):
    name: Text = Field(min_length=1, max_length=100)
    phone: Text = Field(min_length=6, max_length=20)
    consent: bool = False


class OrderLineIn(InputSchema):
    resident: ResidentIn
    deal_id: int
    quantity: int = Field(gt=0, le=100_000)


class LeaderOrderIn(InputSchema):
    wave_id: int
    pickup_point_id: int
    lines: list[OrderLineIn] = Field(min_length=1, max_length=5000)


class ResidentOut(Schema):
    id: int
    name: str
    phone_masked: str


class OrderLineOut(Schema):
    id: int
    resident: ResidentOut
    deal_id: int
    product_sku: str = Field(alias="deal.product.sku")
    product_name: str = Field(alias="deal.product.name")
    quantity: int
    unit_price: Decimal
    status: str


class LeaderOrderSummary(Schema):
    id: int
    wave_id: int
    delivery_date: date = Field(alias="wave.delivery_date")
    pickup_point_id: int
    pickup_point_code: str = Field(alias="pickup_point.code")
    revision: int
    submitted_at: datetime
    updated_at: datetime


class LeaderOrderOut(LeaderOrderSummary):
    lines: list[OrderLineOut]
    total_amount: Decimal

    @staticmethod
    def resolve_lines(order):
        # A freshly submitted order carries its lines; otherwise they are (pre)fetched.
        current = getattr(order, "current_lines", None)
        return current if current is not None else list(order.lines.all())

    @staticmethod
    def resolve_total_amount(order):
        lines = LeaderOrderOut.resolve_lines(order)
        return sum((line.quantity * line.unit_price for line in lines if line.status == "active"), Decimal("0"))


_JSON = TypeAdapter(Any)


def submitted_order_json(order) -> dict:
    """LeaderOrderOut's JSON for an order just submitted (carrying `current_lines` with their residents
    and deals' products), built directly: the answer to every submission, and validating it through the
    Schema's ORM getters cost more CPU than writing the order. Same JSON as the previous
    `LeaderOrderOut.from_orm(order).model_dump(mode="json")`; tests/test_intake_fast_path.py checks it."""
    lines = LeaderOrderOut.resolve_lines(order)
    body = {
        "id": order.pk,
        "wave_id": order.wave_id,
        "delivery_date": order.wave.delivery_date,
        "pickup_point_id": order.pickup_point_id,
        "pickup_point_code": order.pickup_point.code,
        "revision": order.revision,
        "submitted_at": order.submitted_at,
        "updated_at": order.updated_at,
        "lines": [
            {
                "id": line.pk,
                "resident": {
                    "id": line.resident.pk, "name": line.resident.name, "phone_masked": line.resident.phone_masked
                },
                "deal_id": line.deal_id,
                "product_sku": line.deal.product.sku,
                "product_name": line.deal.product.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "status": line.status,
            }
            for line in lines
        ],
        "total_amount": LeaderOrderOut.resolve_total_amount(order),
    }
    return _JSON.dump_python(body, mode="json")


class WaveIn(Schema):
    delivery_date: date
    cutoff_at: datetime | None = None

    @field_validator("delivery_date")
    @classmethod
    def still_to_come(cls, delivery_date: date) -> date:
        # A wave for a day that has begun could take no orders, and its pipeline would start at once.
        if delivery_date <= timezone.localdate():
            raise input_error("date_not_in_future", _("a new wave is for a day still to come"))
        return delivery_date


class WaveOut(Schema):
    id: int
    delivery_date: date
    cutoff_at: datetime
    status: str
    closed_at: datetime | None
    accepting_orders: bool

    @staticmethod
    def resolve_accepting_orders(wave):
        return wave.accepts_orders()


class DealIn(Schema):
    product_id: int
    price: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    quantity_limit: int | None = Field(default=None, gt=0)
    per_resident_limit: int | None = Field(default=None, gt=0)
    is_promotion: bool = False


class DealOut(Schema):
    id: int
    wave_id: int
    product_id: int
    product_sku: str = Field(alias="product.sku")
    product_name: str = Field(alias="product.name")
    unit: str = Field(alias="product.unit")
    price: Decimal
    quantity_limit: int | None
    per_resident_limit: int | None
    is_promotion: bool
    remaining: int | None

    @staticmethod
    def resolve_remaining(deal):
        return None if deal.quantity_limit is None else deal.quantity_limit - deal.sold_quantity


class WaveClosingOut(Schema):
    wave_id: int
    delivery_date: date
    demand_lines: int
    quantity: int


class DemandLineOut(Schema):
    delivery_date: date
    pickup_point_id: int
    pickup_point_code: str = Field(alias="pickup_point.code")
    product_id: int
    product_sku: str = Field(alias="product.sku")
    quantity: int
    order_count: int
    line_count: int
    amount: Decimal


class DemandByPointOut(Schema):
    pickup_point_id: int
    pickup_point_code: str = Field(alias="pickup_point__code")
    pickup_point_name: str = Field(alias="pickup_point__name")
    quantity: int
    products: int
    amount: Decimal


class DemandByProductOut(Schema):
    product_id: int
    product_sku: str = Field(alias="product__sku")
    product_name: str = Field(alias="product__name")
    quantity: int
    pickup_points: int
    amount: Decimal
