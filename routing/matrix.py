"""Distance and travel-time matrices between a depot and its stops.

A :class:`MatrixProvider` turns a list of (latitude, longitude) points into two square integer
matrices: metres and seconds. The default one is geodesic (WGS-84) distance times a detour factor,
driven at an average speed; :class:`OsrmMatrixProvider` asks an OSRM table service for road
distances and times instead. :func:`depot_matrices` picks the configured provider and caches its
answer per depot and set of points.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.request import urlopen

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from geopy.distance import ELLIPSOIDS

from core.errors import Conflict

Point = tuple[float, float]  # (latitude, longitude) in degrees

# Rows are computed in blocks so thousands of points never need more than a few arrays of this many cells.
_BLOCK_CELLS = 2_000_000


@dataclass(frozen=True)
class Matrices:
    distance: np.ndarray  # metres, int64, [from, to]
    duration: np.ndarray  # seconds, int64, [from, to]


def geodesic_metres(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Geodesic distances between all pairs of points on the WGS-84 ellipsoid, in metres (float).

    Lambert's formula for long lines: the central angle between the reduced latitudes, corrected
    for the flattening. It is a closed form (no iteration, unlike Vincenty), so it vectorises, and
    it stays within a few metres of the exact geodesic at city and regional scale.
    """
    a_km, _, flattening = ELLIPSOIDS["WGS-84"]
    reduced = np.arctan((1 - flattening) * np.tan(np.radians(np.asarray(latitudes, dtype=np.float64))))
    lng = np.radians(np.asarray(longitudes, dtype=np.float64))
    n = reduced.size
    out = np.empty((n, n), dtype=np.float64)
    rows = max(1, _BLOCK_CELLS // max(n, 1))
    for first in range(0, n, rows):
        b1 = reduced[first:first + rows, None]
        l1 = lng[first:first + rows, None]
        half_sigma = np.arcsin(np.sqrt(np.clip(
            np.sin((reduced - b1) / 2) ** 2 + np.cos(b1) * np.cos(reduced) * np.sin((lng - l1) / 2) ** 2, 0.0, 1.0)))
        sigma = 2 * half_sigma
        p, q = (b1 + reduced) / 2, (reduced - b1) / 2
        cos_half, sin_half = np.cos(half_sigma) ** 2, np.sin(half_sigma) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (sigma - np.sin(sigma)) * np.sin(p) ** 2 * np.cos(q) ** 2 / cos_half
            y = (sigma + np.sin(sigma)) * np.cos(p) ** 2 * np.sin(q) ** 2 / sin_half
        # Coincident points (sigma = 0) have no correction; antipodes are not on any delivery run.
        correction = np.where(sin_half > 0, x + y, 0.0)
        out[first:first + rows] = a_km * 1000 * (sigma - flattening / 2 * correction)
    return out


class MatrixProvider(ABC):
    @abstractmethod
    def matrices(self, points: Sequence[Point]) -> Matrices:
        """Metres and seconds from every point to every point."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """What the answer depends on besides the points (for cache keys)."""


class GeodesicMatrixProvider(MatrixProvider):
    def __init__(self, detour_factor: float, speed_kmh: float):
        if detour_factor < 1 or speed_kmh <= 0:
            raise ValueError("the detour factor must be at least 1 and the speed positive")
        self.detour_factor = detour_factor
        self.speed_kmh = speed_kmh

    @property
    def fingerprint(self) -> str:
        return f"geodesic:{self.detour_factor}:{self.speed_kmh}"

    def matrices(self, points: Sequence[Point]) -> Matrices:
        coordinates = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        road = geodesic_metres(coordinates[:, 0], coordinates[:, 1]) * self.detour_factor
        seconds = road / (self.speed_kmh / 3.6)
        return Matrices(np.rint(road).astype(np.int64), np.rint(seconds).astype(np.int64))


class OsrmMatrixProvider(MatrixProvider):
    """Road distances and times from an OSRM server's table service (one request for all pairs)."""

    def __init__(self, base_url: str, profile: str = "driving", timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout

    @property
    def fingerprint(self) -> str:
        return f"osrm:{self.base_url}:{self.profile}"

    def matrices(self, points: Sequence[Point]) -> Matrices:
        # OSRM wants longitude,latitude.
        coordinates = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}?annotations=distance,duration"
        with urlopen(url, timeout=self.timeout) as response:
            answer = json.load(response)
        if answer.get("code") != "Ok":
            raise Conflict(
                _("the OSRM table service answered %(code)s: %(message)s") % {
                    "code": answer.get("code"), "message": answer.get("message", "")},
                field="ROUTING_OSRM_URL", code="routing_service_error",
            )
        distance, duration = (self._matrix(answer[key], key) for key in ("distances", "durations"))
        return Matrices(distance, duration)

    @staticmethod
    def _matrix(rows: list[list[float | None]], name: str) -> np.ndarray:
        if any(cell is None for row in rows for cell in row):  # OSRM's null: no road between two points
            raise Conflict(
                _("the OSRM table has no route between some points (%(name)s)") % {"name": name},
                field="ROUTING_OSRM_URL", code="no_road",
            )
        return np.rint(np.asarray(rows, dtype=np.float64)).astype(np.int64)


def configured_provider() -> MatrixProvider:
    if settings.ROUTING_OSRM_URL:
        return OsrmMatrixProvider(settings.ROUTING_OSRM_URL, settings.ROUTING_OSRM_PROFILE,
                                  settings.ROUTING_OSRM_TIMEOUT_SECONDS)
    return GeodesicMatrixProvider(settings.ROUTING_DETOUR_FACTOR, settings.ROUTING_AVERAGE_SPEED_KMH)


def depot_matrices(depot_id: int, points: Sequence[Point], provider: MatrixProvider | None = None) -> Matrices:
    """The matrices of a depot's points, cached per depot and set of points (in their order)."""
    provider = provider or configured_provider()
    digest = hashlib.sha256(provider.fingerprint.encode() + np.asarray(points, dtype=np.float64).tobytes()).hexdigest()
    key = f"routing:matrix:{depot_id}:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = provider.matrices(points)
    cache.set(key, result, settings.ROUTING_MATRIX_CACHE_SECONDS)
    return result
