from datetime import date, datetime, time
from decimal import Decimal

from ninja import Field, Schema

from core.schemas import Text

TIME_LIMIT = Field(None, gt=0, le=600, description="Solver seconds; default ROUTING_SOLVER_TIME_LIMIT_SECONDS.")
SEED = Field(0, ge=0, le=2**31 - 1)


class PlanIn(Schema):
    depot_id: int
    delivery_date: date
    time_limit_seconds: float | None = TIME_LIMIT
    seed: int = SEED


class ReplanIn(Schema):
    time_limit_seconds: float | None = TIME_LIMIT
    seed: int = SEED


class OutageIn(Schema):
    delivery_date: date
    reason: Text = Field(min_length=1, max_length=200)
    time_limit_seconds: float | None = TIME_LIMIT
    seed: int = SEED


class DayIn(Schema):
    delivery_date: date


class SortListCountOut(Schema):
    sort_lists: int


class StopLineOut(Schema):
    product_id: int
    sku: str = Field(alias="product.sku")
    name: str = Field(alias="product.name")
    unit: str = Field(alias="product.unit")
    storage_temperature: str = Field(alias="product.storage_temperature")
    quantity: int
    delivered_quantity: int | None


class StopOut(Schema):
    id: int
    sequence: int
    pickup_point_id: int
    pickup_point_code: str = Field(alias="pickup_point.code")
    pickup_point_name: str = Field(alias="pickup_point.name")
    address: str = Field(alias="pickup_point.address")
    latitude: float = Field(alias="pickup_point.latitude")
    longitude: float = Field(alias="pickup_point.longitude")
    opens_at: time = Field(alias="pickup_point.opens_at")
    closes_at: time = Field(alias="pickup_point.closes_at")
    leader_name: str = ""
    leader_phone: str = ""  # masked, as on every page
    navigation_url: str
    eta: datetime
    service_start_at: datetime
    departure_at: datetime
    weight_g: int
    volume_ml: int
    crates: int
    units: int
    remaining_weight_g: int
    remaining_volume_ml: int
    remaining_crates: int
    arrived_at: datetime | None
    delivered_at: datetime | None
    lines: list[StopLineOut]

    @staticmethod
    def resolve_navigation_url(stop) -> str:
        # The geo: URI opens the phone's own navigation app at the point.
        return f"geo:{stop.pickup_point.latitude},{stop.pickup_point.longitude}"


class RouteOut(Schema):
    id: int
    code: str
    delivery_date: date = Field(alias="plan.delivery_date")
    depot_id: int = Field(alias="plan.depot_id")
    vehicle_id: int
    vehicle_code: str = Field(alias="vehicle.code")
    driver_id: int | None
    departure_at: datetime
    return_at: datetime
    distance_m: int
    cost: Decimal
    weight_g: int
    volume_ml: int
    crates: int
    stops: list[StopOut]


class DroppedStopOut(Schema):
    pickup_point_id: int
    pickup_point_code: str = Field(alias="pickup_point.code")
    pickup_point_name: str = Field(alias="pickup_point.name")
    reason: str
    weight_g: int
    volume_ml: int
    crates: int
    units: int


class PlanSummaryOut(Schema):
    id: int
    depot_id: int
    depot_code: str = Field(alias="depot.code")
    delivery_date: date
    revision: int
    cost: Decimal
    distance_m: int
    duration_s: int
    stop_count: int
    dropped_count: int
    planned_at: datetime
    solver_stats: dict


class PlanOut(PlanSummaryOut):
    routes: list[RouteOut]
    dropped_stops: list[DroppedStopOut]


class OutageOut(Schema):
    vehicle_id: int
    delivery_date: date
    reason: str
    plan: PlanSummaryOut | None


class VehicleOut(Schema):
    id: int
    code: str
    depot_id: int
    capacity_kg: int
    capacity_litres: int
    capacity_crates: int
    has_chilled_zone: bool
    has_frozen_zone: bool
    shift_start: time
    shift_end: time
    max_duration_minutes: int | None
    fixed_cost: Decimal
    cost_per_km: Decimal
    is_active: bool


class ArrivalIn(Schema):
    at: datetime | None = None


class DeliveredLineIn(Schema):
    product_id: int
    quantity: int = Field(ge=0, le=10_000_000)


class DeliveryIn(Schema):
    at: datetime | None = None
    lines: list[DeliveredLineIn] | None = Field(None, description="Per product; products left out count as delivered in full.")
