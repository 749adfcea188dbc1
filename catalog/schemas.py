from datetime import time

from ninja import Schema


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    unit: str
    weight_g: int
    volume_ml: int
    storage_temperature: str
    shelf_life_days: int
    is_active: bool


class DepotOut(Schema):
    id: int
    code: str
    name: str
    latitude: float
    longitude: float


class PickupPointOut(Schema):
    id: int
    code: str
    name: str
    address: str
    latitude: float
    longitude: float
    opens_at: time
    closes_at: time
    depot_id: int
    is_active: bool
