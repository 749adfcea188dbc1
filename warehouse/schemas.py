from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from core.schemas import Text


class LotIn(Schema):
    product_id: int
    depot_id: int | None = None
    warehouse_id: int | None = None
    quantity: int = Field(gt=0, le=10_000_000)
    expiry_date: date
    bin_location: Text = Field(default="", max_length=32)
    reason: Text = Field(min_length=1, max_length=100)


class LotOut(Schema):
    id: int
    product_id: int
    product_sku: str = Field(alias="product.sku")
    warehouse_id: int | None
    depot_id: int | None
    bin_location: str
    quantity: int
    expiry_date: date
    received_at: datetime
    source: str
    reference: str


class StockCountIn(Schema):
    counted: int = Field(ge=0, le=10_000_000)


class StockMoveOut(Schema):
    id: int
    lot_id: int
    kind: str
    quantity: int
    reason: str
    actor_id: int | None
    delivery_date: date | None
    created_at: datetime


class RouteStopsIn(Schema):
    route_code: Text = Field(min_length=1, max_length=40)
    depot_id: int
    pickup_point_ids: list[int] = Field(min_length=1)


class SortListsIn(Schema):
    delivery_date: date
    routes: list[RouteStopsIn] = Field(min_length=1)


class PickLotOut(Schema):
    lot_id: int
    bin_location: str
    expiry_date: date
    quantity: int


class PickProductOut(Schema):
    product_id: int
    sku: str
    name: str
    unit: str
    storage_temperature: str
    total: int
    lots: list[PickLotOut]


class SortListSummary(Schema):
    id: int
    delivery_date: date
    depot_id: int
    route_code: str


class SortLineOut(Schema):
    sku: str
    name: str
    unit: str
    storage_temperature: str
    quantity: int


class SortStopOut(Schema):
    stop_number: int
    pickup_point_id: int
    pickup_point_code: str
    pickup_point_name: str
    leader_name: str
    crates: int
    units: int
    tote_label: str
    lines: list[SortLineOut]


class SortListOut(SortListSummary):
    stops: list[SortStopOut] = Field(description="In loading order: the last delivery first.")


class AllocationRunIn(Schema):
    delivery_date: date
    min_remaining_days: int | None = Field(default=None, ge=0, le=365)
    order_time_weight: float | None = Field(default=None, ge=0, le=1)


class AllocationSummaryOut(Schema):
    delivery_date: date
    demand_lines: int
    demanded: int
    allocated: int
    short_lines: int
    refund_amount: Decimal


class AllocationOut(Schema):
    pickup_point_id: int
    product_id: int
    lot_id: int
    quantity: int


class LineShortageOut(Schema):
    order_line_id: int
    order_id: int = Field(alias="order_line.order_id")
    resident_name: str = Field(alias="order_line.resident.name")
    resident_phone: str = Field(alias="order_line.resident.phone_masked")
    product_sku: str = Field(alias="order_line.deal.product.sku")
    ordered: int = Field(alias="order_line.quantity")
    cut: int = Field(alias="quantity")
    refund_amount: Decimal
    reason: str


class ForecastRunIn(Schema):
    delivery_date: date
    depot_id: int
    history_days: int = Field(default=364, ge=7, le=1000)


class ForecastRunOut(Schema):
    delivery_date: date
    depot_id: int
    point_series: int
    depot_series: int


class DemandForecastOut(Schema):
    delivery_date: date
    product_id: int
    depot_id: int
    pickup_point_id: int | None
    mean: float
    p50: int
    p80: int
    p95: int
