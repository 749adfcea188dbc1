from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from core.schemas import Text

from .models import ClaimKind

Quantity = Field(ge=0, le=1_000_000)


class ManifestProductOut(Schema):
    product_id: int
    sku: str
    name: str
    expected: int
    received: int | None


class PickupLineOut(Schema):
    order_line_id: int
    resident_id: int
    resident_name: str = Field(alias="resident.name")
    resident_phone: str = Field(alias="resident.phone_masked")
    product_sku: str = Field(alias="product.sku")
    product: str = Field(alias="product.name")
    unit_price: Decimal
    ordered_quantity: int
    shortage_quantity: int
    missing_quantity: int
    collected_quantity: int
    returned_quantity: int
    collectable_quantity: int
    collected_at: datetime | None


class ManifestOut(Schema):
    delivery_date: date
    pickup_point_id: int
    products: list[ManifestProductOut]
    lines: list[PickupLineOut]


class ReceivedCountIn(Schema):
    product_id: int
    received_quantity: int = Quantity


class ReceiptIn(Schema):
    delivery_date: date
    pickup_point_id: int
    lines: list[ReceivedCountIn] = Field(min_length=1, max_length=5000)


class ReceiptOut(Schema):
    product_id: int
    product_sku: str = Field(alias="product.sku")
    expected_quantity: int
    received_quantity: int
    difference: int
    confirmed_at: datetime


class DayIn(Schema):
    delivery_date: date


class ReissueIn(DayIn):
    resident_id: int


class IssuedCodeOut(Schema):
    resident_id: int
    resident_name: str
    resident_phone: str
    delivery_date: date
    code: str
    qr_png_base64: str
    message: str = Field(description="The text the resident receives (in Chinese, the city's language)")


class CollectLineIn(Schema):
    order_line_id: int
    quantity: int = Field(gt=0, le=1_000_000)


class CollectIn(Schema):
    delivery_date: date
    pickup_point_id: int
    code: Text = Field(min_length=1, max_length=20)
    lines: list[CollectLineIn] | None = Field(None, description="Omit to hand over everything that is left.")


class CollectedLineOut(Schema):
    order_line_id: int
    product: str
    collected_now: int
    collected_quantity: int
    collectable_quantity: int


class CollectOut(Schema):
    resident_id: int
    resident_name: str
    resident_phone: str
    lines: list[CollectedLineOut]


class ClaimIn(Schema):
    order_line_id: int
    kind: Literal[tuple(ClaimKind.values)]  # type: ignore[valid-type]
    quantity: int = Field(gt=0, le=1_000_000)
    reason: Text = Field(min_length=1, max_length=500)
    photo_ref: Text = Field("", max_length=300)


class DecisionIn(Schema):
    note: Text = Field("", max_length=500)


class ClaimOut(Schema):
    id: int
    order_line_id: int = Field(alias="pickup_line.order_line_id")
    resident_phone: str = Field(alias="pickup_line.resident.phone_masked")
    product: str = Field(alias="pickup_line.product.name")
    kind: str
    source: str
    quantity: int
    reason: str
    photo_ref: str
    status: str
    filed_at: datetime
    decided_at: datetime | None
    decision_note: str


class RefundOut(Schema):
    id: int
    cause: str
    order_line_id: int
    resident_id: int
    resident_phone: str = Field(alias="resident.phone_masked")
    product: str = Field(alias="order_line.deal.product.name")
    pickup_point: str = Field(alias="order_line.order.pickup_point.code")
    quantity: int
    amount: Decimal
    claim_id: int | None
    reason: str
    created_by_id: int | None
    created_at: datetime


class ShortageRefundsOut(Schema):
    refunds: int


class ReturnSummaryOut(Schema):
    lines: int
    restocked: int
    written_off: int
    refund_amount: Decimal


class SettlementOut(Schema):
    settled: int


class ResidentPrivacyOut(Schema):
    id: int
    name: str
    phone_masked: str
    consent: bool
    consent_at: datetime | None
    consent_version: str
    erased_at: datetime | None


class ConsentIn(Schema):
    consent: bool
    wording_version: Text = Field(min_length=1, max_length=32)
