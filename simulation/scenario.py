"""What-if scenarios: what an operator may change about a simulated city, read from TOML or JSON.

A scenario file holds only what it changes; everything else stays as the base city has it:

    name = "两辆大车"            # shown in reports; the file's name when missing
    depots = 2                  # depots the city's points are split among
    demand_scale = 1.2          # order lines a day, as a share of the city's
    route_iterations = 20000    # the route search's budget per search (reproducible)
    solver_seconds = 30         # or a time limit per depot instead, as in production (runs then differ)
    cutoff = "22:00"            # the order cutoff the evening before delivery (ORDER_CUTOFF_TIME, 23:00)
    picking_hours = 6           # the depot's night: from the cutoff until the vans can be loaded
    purchasing = "newsvendor"   # or "mean" (order up to the forecast's mean) or "service_level"
    service_level = 0.95        # with purchasing = "service_level": the quantile bought up to
    no_show = [0.02, 0.10]      # per point, the share of residents who do not come on the delivery day, drawn in this range
    late_pickup = 0.85          # of those, the share who come the next day, when their leader reminds them
    claim_share = 0.005         # collected lines a resident claims on
    commission_tiers = {ordinary = [[0, 0.06], [30000, 0.08]], core = [[0, 0.10]]}  # PICKUP_COMMISSION_TIERS

    [fleet]
    vans = 4                    # per depot; missing: enough for the busiest day by crates and stops
    crates = 200                # a van's capacity in crates
    payload_kg = 1800           # and in weight and volume
    volume_litres = 16000
    fixed_cost = 400            # yuan a day a van runs (with its driver), and per km
    cost_per_km = 1.2
    shift_start = "05:30"
    shift_end = "12:00"
"""
import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings

from pickup.commission import parse_tiers

PURCHASING_POLICIES = ("newsvendor", "mean", "service_level")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Fleet:
    """Each depot's vans. The defaults are a grid depot's 4.2 m box van (see the README's
    assumptions): 16 m³ holds about 200 crates of 60 × 40 × 30 cm stacked with aisles, 3.5 t."""

    vans: int | None = None  # per depot; None: enough for the busiest day, and a spare
    crates: int = 200
    payload_kg: int = 1800  # a blue-plate light truck's payload
    volume_litres: int = 16000
    # What a run costs: a 4.2 m van with its driver hired for the morning (城配 rates in Hangzhou, about
    # 350–450 yuan a day), and diesel at about 11 l/100 km and 7.5 yuan/l plus tyres and wear a km.
    fixed_cost: Decimal = Decimal(400)
    cost_per_km: Decimal = Decimal("1.2")
    shift_start: time = time(5, 30)
    shift_end: time = time(12, 0)


@dataclass(frozen=True)
class Scenario:
    name: str = "base"
    fleet: Fleet = field(default_factory=Fleet)
    depots: int | None = None  # None: the city's own number
    demand_scale: float = 1.0
    route_iterations: int | None = None  # None: the run's own option
    solver_seconds: float | None = None  # a time limit per route search instead of an iteration budget
    cutoff: time | None = None  # None: the settings' ORDER_CUTOFF_TIME
    # From the cutoff, the nightly pipeline, picking and loading of a busy night take this long;
    # the vans leave no earlier (their shift starts later if need be). Six hours: the default
    # cutoff at 23:00 has the goods ready at 05:00, for the 05:30 shift (grid depots pick through the night).
    picking_hours: float = 6.0
    purchasing: str = "newsvendor"
    service_level: float | None = None
    no_show: tuple[float, float] = (0.02, 0.10)
    late_pickup: float = 0.85
    claim_share: float = 0.005
    commission_tiers: dict | None = None  # None: the settings' PICKUP_COMMISSION_TIERS

    def vans_ready(self) -> time:
        """When the vans can leave the depot: the cutoff, then a busy night's pipeline, picking and loading."""
        return vans_ready(self.cutoff or settings.ORDER_CUTOFF_TIME, self.picking_hours)

    def settings(self) -> dict:
        """The Django settings the scenario overrides for its run."""
        overrides = {"PROCUREMENT_POLICY": self.purchasing, "PROCUREMENT_SERVICE_LEVEL": self.service_level}
        if self.solver_seconds is not None:
            overrides["ROUTING_SOLVER_TIME_LIMIT_SECONDS"] = self.solver_seconds
        if self.cutoff is not None:
            overrides["ORDER_CUTOFF_TIME"] = self.cutoff
        if self.commission_tiers is not None:
            overrides["PICKUP_COMMISSION_TIERS"] = self.commission_tiers
        return overrides


BASE = Scenario()  # the city as it is

# Of the lines residents would order for a day, the share placed by each time of the evening before
# (an assumption, see the README: most order in the evening after work, the last hour before the
# usual 23:00 cutoff brings about a tenth, leaders' reminders included); what comes after the cutoff
# is lost. Relative to the 23:00 cutoff the cities are drawn at.
ORDERS_PLACED_BY = ((time(18, 0), 0.72), (time(20, 0), 0.82), (time(21, 0), 0.88), (time(22, 0), 0.94),
                    (time(23, 0), 1.0), (time(23, 59), 1.03))


def orders_placed_by(cutoff: time) -> float:
    """The share of the city's order lines that a cutoff at ``cutoff`` takes in (1.0 at 23:00)."""
    minutes = [t.hour * 60 + t.minute for t, _share in ORDERS_PLACED_BY]
    return float(np.interp(cutoff.hour * 60 + cutoff.minute, minutes, [share for _t, share in ORDERS_PLACED_BY]))


def vans_ready(cutoff: time, picking_hours: float) -> time:
    """When a busy night's goods are loaded, on the delivery day's morning (00:00 if before midnight)."""
    minutes = max(0, round(cutoff.hour * 60 + cutoff.minute + picking_hours * 60) - 24 * 60)
    return time(min(minutes // 60, 23), minutes % 60)


def _number(value, where: str, low: float, high: float | None = None, integer: bool = False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ScenarioError(f"{where}: must be {'a whole number' if integer else 'a number'} {bound}, not {value!r}")
    return value


def _clock(value, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: must be a time such as \"05:30\", not {value!r}") from None


def _fleet(raw, where: str) -> Fleet:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table of vans, crates, payload_kg, volume_litres, fixed_cost, cost_per_km, shift_start, shift_end")
    unknown = set(raw) - {f.name for f in fields(Fleet)}
    if unknown:
        raise ScenarioError(
            f"{where}.{min(unknown)}: not a fleet setting (vans, crates, payload_kg, volume_litres, fixed_cost, cost_per_km, shift_start, shift_end)"
        )
    fleet = Fleet()
    if "vans" in raw:
        fleet = replace(fleet, vans=_number(raw["vans"], f"{where}.vans", 1, 200, integer=True))
    for name, low, high in (("crates", 10, 2000), ("payload_kg", 100, 50_000), ("volume_litres", 1000, 200_000)):
        if name in raw:
            fleet = replace(fleet, **{name: _number(raw[name], f"{where}.{name}", low, high, integer=True)})
    for name, low, high in (("fixed_cost", 0, 100_000), ("cost_per_km", 0.01, 1000)):
        if name in raw:  # money: the file's number as written, not its binary float
            fleet = replace(fleet, **{name: Decimal(str(_number(raw[name], f"{where}.{name}", low, high)))})
    for name in ("shift_start", "shift_end"):
        if name in raw:
            fleet = replace(fleet, **{name: _clock(raw[name], f"{where}.{name}")})
    if fleet.shift_end <= fleet.shift_start:
        raise ScenarioError(f"{where}.shift_end: must be after shift_start")
    return fleet


def parse_scenario(raw: dict, name: str) -> Scenario:
    """A scenario from a file's parsed contents; every mistake raises ScenarioError naming its field."""
    unknown = set(raw) - {f.name for f in fields(Scenario)}
    if unknown:
        raise ScenarioError(f"{min(unknown)}: not a scenario setting ({', '.join(f.name for f in fields(Scenario))})")
    scenario = Scenario(name=str(raw.get("name") or name))
    if "fleet" in raw:
        scenario = replace(scenario, fleet=_fleet(raw["fleet"], "fleet"))
    if "depots" in raw:
        scenario = replace(scenario, depots=_number(raw["depots"], "depots", 1, 10, integer=True))
    if "demand_scale" in raw:
        scenario = replace(scenario, demand_scale=_number(raw["demand_scale"], "demand_scale", 0.05, 20))
    if "route_iterations" in raw:
        scenario = replace(scenario, route_iterations=_number(raw["route_iterations"], "route_iterations", 1, integer=True))
    if "solver_seconds" in raw:
        if "route_iterations" in raw:
            raise ScenarioError("solver_seconds: give a time limit or route_iterations, not both")
        scenario = replace(scenario, solver_seconds=float(_number(raw["solver_seconds"], "solver_seconds", 0.1, 3600)))
    if "cutoff" in raw:
        cutoff = _clock(raw["cutoff"], "cutoff")
        if not ORDERS_PLACED_BY[0][0] <= cutoff <= ORDERS_PLACED_BY[-1][0]:
            raise ScenarioError(f"cutoff: must be in the evening before delivery, 18:00–23:59, not {raw['cutoff']!r}")
        scenario = replace(scenario, cutoff=cutoff)
    if "picking_hours" in raw:
        scenario = replace(scenario, picking_hours=float(_number(raw["picking_hours"], "picking_hours", 0.5, 12)))
    ready, shift_end = scenario.vans_ready(), scenario.fleet.shift_end
    if datetime.combine(date.min, shift_end) - datetime.combine(date.min, max(ready, scenario.fleet.shift_start)) < timedelta(hours=2):
        raise ScenarioError(f"picking_hours: the goods are loaded at {ready:%H:%M}, less than 2 hours before the vans' "
                            f"shift ends at {shift_end:%H:%M}")
    if "purchasing" in raw:
        if raw["purchasing"] not in PURCHASING_POLICIES:
            raise ScenarioError(f"purchasing: one of {', '.join(PURCHASING_POLICIES)}, not {raw['purchasing']!r}")
        scenario = replace(scenario, purchasing=raw["purchasing"])
    if "service_level" in raw:
        scenario = replace(scenario, service_level=_number(raw["service_level"], "service_level", 0.5, 0.999))
    if scenario.purchasing == "service_level" and scenario.service_level is None:
        raise ScenarioError("service_level: required when purchasing is \"service_level\"")
    if "no_show" in raw:
        value = raw["no_show"]
        if not (isinstance(value, list) and len(value) == 2):
            raise ScenarioError(f"no_show: must be a range [low, high], not {value!r}")
        low, high = (_number(v, "no_show", 0, 1) for v in value)
        if low > high:
            raise ScenarioError("no_show: the low end must not be above the high end")
        scenario = replace(scenario, no_show=(float(low), float(high)))
    if "late_pickup" in raw:
        scenario = replace(scenario, late_pickup=float(_number(raw["late_pickup"], "late_pickup", 0, 1)))
    if "claim_share" in raw:
        scenario = replace(scenario, claim_share=float(_number(raw["claim_share"], "claim_share", 0, 1)))
    if "commission_tiers" in raw:
        tiers = raw["commission_tiers"]
        shape = "a table of tier name = [[monthly GMV from, rate], ...] for the tiers ordinary and core"
        if not (isinstance(tiers, dict) and set(tiers) >= {"ordinary", "core"}):
            raise ScenarioError(f"commission_tiers: {shape}")
        try:
            parse_tiers(tiers, settings.PICKUP_COMMISSION_CAP)
        except (TypeError, ValueError, ArithmeticError) as error:
            raise ScenarioError(f"commission_tiers: {shape} ({error})") from None
        scenario = replace(scenario, commission_tiers=tiers)
    return scenario


def load_scenario(path: Path) -> Scenario:
    """A scenario from a .toml or .json file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'} ({error})") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: must hold a table of settings")
    try:
        return parse_scenario(raw, path.stem)
    except ScenarioError as error:
        raise ScenarioError(f"{path}: {error}") from None
