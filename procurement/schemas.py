from datetime import date, datetime, time
from decimal import Decimal

from ninja import Field, Schema

from core.schemas import Text

from . import selectors

QUANTITY = Field(ge=0, le=10_000_000)


class SupplierIn(Schema):
    code: Text = Field(min_length=1, max_length=32)
    name: Text = Field(min_length=1, max_length=200)
    contact_name: Text = Field("", max_length=100)
    phone: Text = Field("", max_length=40)
    email: Text = Field("", max_length=254)
    order_cutoff: time = time(18, 0)
    lead_time_days: int = Field(1, ge=0, le=365)


class SupplierOut(Schema):
    id: int
    code: str
    name: str
    contact_name: str
    phone: str
    email: str
    order_cutoff: time
    lead_time_days: int
    is_active: bool


class SupplierProductIn(Schema):
    supplier_id: int
    product_id: int
    unit_cost: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    case_pack: int = Field(1, ge=1, le=100_000)
    moq: int = Field(0, ge=0, le=10_000_000)
    daily_capacity: int = QUANTITY
    shelf_life_days: int = Field(ge=0, le=3650)
    priority: int = Field(0, ge=0, le=100)


class SupplierProductOut(Schema):
    id: int
    supplier_id: int
    supplier_code: str = Field(alias="supplier.code")
    product_id: int
    product_sku: str = Field(alias="product.sku")
    unit_cost: Decimal
    case_pack: int
    moq: int
    daily_capacity: int
    shelf_life_days: int
    priority: int


class SuggestionRunIn(Schema):
    delivery_date: date
    depot_ids: list[int] | None = Field(None, description="Default: every depot.")
    warehouse_id: int | None = Field(None, description="Where the goods arrive (default: the depots' central warehouse).")
    depot_id: int | None = None


class SplitPartOut(Schema):
    supplier_product_id: int
    supplier_code: str
    unit_cost: Decimal
    case_pack: int
    moq: int
    capacity: int
    delivery_rate: float | None = Field(
        None, description="Share of the units ordered this supplier delivered and passed QC lately, shrunk toward 1; "
                          "a suggestion orders the net need over its preferred supplier's rate. None on staff's edits.")
    quantity: int


class SuggestionOut(Schema):
    """A suggestion with its explanation: demand, the quantile used, stock, target, rounding and split."""

    id: int
    delivery_date: date
    product_id: int
    product_sku: str = Field(alias="product.sku")
    warehouse_id: int | None
    depot_id: int | None
    depot_ids: list[int]
    status: str
    demand_source: str
    forecast_mean: float
    price: Decimal
    unit_cost: Decimal
    salvage: Decimal
    critical_ratio: float
    target: int
    on_hand: int
    in_transit: int
    net_need: int
    quantity: int
    rounding: int = Field(description="quantity - net_need: what case packs, MOQs and capacity added (or cut)")
    split: list[SplitPartOut]
    decision_note: str

    @staticmethod
    def resolve_rounding(obj) -> int:
        return obj.quantity - obj.net_need


class SplitPartIn(Schema):
    supplier_product_id: int
    quantity: int = QUANTITY


class SuggestionDecisionIn(Schema):
    split: list[SplitPartIn] | None = Field(None, description="Staff's edit of how much to buy from whom.")


class SuggestionEditIn(Schema):
    split: list[SplitPartIn] = Field(min_length=1)


class RejectIn(Schema):
    note: Text = Field("", max_length=200)


class PurchaseOrderLineIn(Schema):
    product_id: int
    quantity: int = Field(gt=0, le=10_000_000)


class PurchaseOrderIn(Schema):
    supplier_id: int
    delivery_date: date
    warehouse_id: int | None = None
    depot_id: int | None = None
    lines: list[PurchaseOrderLineIn] = Field(min_length=1)


class LineQuantityIn(Schema):
    quantity: int = Field(ge=0, le=10_000_000, description="0 removes the line.")


class NoteIn(Schema):
    note: Text = Field("", max_length=200)


class PurchaseOrderLineOut(Schema):
    id: int
    product_id: int
    product_sku: str = Field(alias="product.sku")
    supplier_product_id: int
    quantity: int
    unit_cost: Decimal
    accepted_quantity: int
    rejected_quantity: int


class TransitionOut(Schema):
    from_state: str
    to_state: str
    actor_id: int | None
    at: datetime
    note: str


class PurchaseOrderSummary(Schema):
    id: int
    number: str
    supplier_id: int
    supplier_code: str = Field(alias="supplier.code")
    delivery_date: date
    expected_on: date
    warehouse_id: int | None
    depot_id: int | None
    state: str
    created_at: datetime


class PurchaseOrderOut(PurchaseOrderSummary):
    lines: list[PurchaseOrderLineOut]
    transitions: list[TransitionOut]

    @staticmethod
    def resolve_lines(obj):
        return obj.lines.all()

    @staticmethod
    def resolve_transitions(obj):
        return obj.transitions.all()


class ReceiptLineIn(Schema):
    line_id: int
    accepted_quantity: int = QUANTITY
    rejected_quantity: int = Field(0, ge=0, le=10_000_000)
    qc_reason: Text = Field("", max_length=200)
    expiry_date: date | None = Field(None, description="Default: the day received plus the supplier's shelf life.")


class GoodsReceiptIn(Schema):
    document_number: Text = Field(min_length=1, max_length=64)
    received_at: datetime | None = None
    lines: list[ReceiptLineIn] = Field(min_length=1)


class ReceiptLineOut(Schema):
    id: int
    purchase_order_line_id: int
    product_sku: str = Field(alias="purchase_order_line.product.sku")
    accepted_quantity: int
    rejected_quantity: int
    qc_reason: str
    expiry_date: date | None
    lot_id: int | None


class GoodsReceiptOut(Schema):
    id: int
    document_number: str
    purchase_order_id: int
    received_at: datetime
    received_by_id: int | None
    lines: list[ReceiptLineOut]

    @staticmethod
    def resolve_lines(obj):
        return selectors.receipt_lines(obj)
