"""VRPTW benchmark instances (Solomon, Gehring-Homberger) in the TSPLIB-style format of LKH-3.

The metric is the one the best-known costs were computed in (see benchmarks/vrptw/README.md):
``FLOOR_2D`` with ``SCALE`` (Solomon: arc = floor(10 * euclidean), windows and service x 10) and
``EXACT_2D`` (Homberger: arc = round(1000 * euclidean), windows and service x 1000). Travel time
equals arc cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from routing.solver import Depot, Problem, Stop, Vehicle

EXACT_2D_SCALE = 1000


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    coordinates: list[tuple[float, float]]  # node 0 is the depot
    demands: list[int]
    windows: list[tuple[int, int]]  # already scaled
    service_time: int  # already scaled; the depot has none
    distance: list[list[int]]

    @property
    def customers(self) -> int:
        return len(self.coordinates) - 1

    def problem(self) -> Problem:
        """The instance as a routing problem: one depot, a fleet of ``vehicles`` identical vehicles,
        cost = distance (no fixed cost), no shift limit beyond the depot window."""
        depot_opens, depot_closes = self.windows[0]
        stops = [Stop(id=str(node), demand=(self.demands[node],), opens=opens, closes=closes,
                      service_fixed=self.service_time)
                 for node, (opens, closes) in enumerate(self.windows) if node > 0]
        fleet = [Vehicle(id=f"v{k + 1}", capacity=(self.capacity,), start_depot="depot", end_depot="depot",
                         shift_start=depot_opens, shift_end=depot_closes)
                 for k in range(self.vehicles)]
        return Problem(depots=[Depot("depot", depot_opens, depot_closes)], stops=stops, vehicles=fleet,
                       distance=self.distance, travel_time=self.distance)


def read_instance(path: str | Path) -> Instance:
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    section = None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            section = line
            sections[section] = []
        elif section is None:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        else:
            sections[section].append(line.split())

    dimension = int(header["DIMENSION"])
    depot = int(sections["DEPOT_SECTION"][0][0])
    if depot != 1:
        raise ValueError(f"{path}: the depot must be node 1, got {depot}")

    def by_node(name: str) -> list[list[str]]:
        rows = {int(row[0]): row[1:] for row in sections[name]}
        return [rows[node] for node in range(1, dimension + 1)]

    edge_weight_type = header["EDGE_WEIGHT_TYPE"]
    if edge_weight_type == "FLOOR_2D":
        scale, to_int = int(header.get("SCALE", "1")), math.floor
    elif edge_weight_type == "EXACT_2D":
        scale, to_int = EXACT_2D_SCALE, round
    else:
        raise ValueError(f"{path}: unsupported EDGE_WEIGHT_TYPE {edge_weight_type}")

    coordinates = [(float(x), float(y)) for x, y in by_node("NODE_COORD_SECTION")]
    return Instance(
        name=header["NAME"],
        vehicles=int(header["VEHICLES"]),
        capacity=int(header["CAPACITY"]),
        coordinates=coordinates,
        demands=[int(d) for (d,) in by_node("DEMAND_SECTION")],
        windows=[(scale * int(a), scale * int(b)) for a, b in by_node("TIME_WINDOW_SECTION")],
        service_time=scale * int(header["SERVICE_TIME"]),
        distance=[[to_int(scale * math.dist(a, b)) for b in coordinates] for a in coordinates],
    )
