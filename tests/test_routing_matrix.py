"""Distance matrices: vectorised geodesics against geopy, detour and speed, the per-depot cache, OSRM."""
import io
import json

import numpy as np
import pytest
from geopy.distance import geodesic
from hypothesis import given, settings as hypothesis_settings, strategies as st

from core.errors import Conflict
from routing import matrix

HANGZHOU = (30.27, 120.15)


# Anywhere in China's box: from a few metres to thousands of kilometres (antipodes are no delivery run).
@given(st.lists(st.tuples(st.floats(18, 54), st.floats(73, 135)), min_size=2, max_size=12))
@hypothesis_settings(max_examples=60, deadline=None)
def test_vectorised_geodesics_agree_with_geopy(points):
    coordinates = np.array(points)
    metres = matrix.geodesic_metres(coordinates[:, 0], coordinates[:, 1])
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            reference = geodesic(a, b).meters
            if reference < 1:
                assert metres[i, j] < 1
            else:
                assert metres[i, j] == pytest.approx(reference, rel=0.005)


def test_city_scale_geodesics_are_within_a_metre_of_geopy():
    rng = np.random.default_rng(7)
    latitudes, longitudes = HANGZHOU[0] + rng.uniform(-0.3, 0.3, 40), HANGZHOU[1] + rng.uniform(-0.3, 0.3, 40)
    metres = matrix.geodesic_metres(latitudes, longitudes)
    reference = np.array([[geodesic((a, b), (c, d)).meters for c, d in zip(latitudes, longitudes)]
                          for a, b in zip(latitudes, longitudes)])
    assert np.abs(metres - reference).max() < 1.0
    assert np.array_equal(metres, metres.T) and not metres.diagonal().any()


def test_road_distance_is_the_geodesic_times_the_detour_and_time_follows_the_speed():
    points = [HANGZHOU, (30.30, 120.20), (30.20, 120.10)]
    result = matrix.GeodesicMatrixProvider(detour_factor=1.5, speed_kmh=36).matrices(points)
    expected = geodesic(points[0], points[1]).meters * 1.5
    assert result.distance[0, 1] == round(expected)
    assert result.duration[0, 1] == round(expected / 10)  # 36 km/h is 10 m/s
    assert result.distance.dtype == np.int64 and result.distance.shape == (3, 3)


def test_thousands_of_points_in_blocks():
    rng = np.random.default_rng(1)
    points = np.column_stack([HANGZHOU[0] + rng.uniform(-0.2, 0.2, 2500), HANGZHOU[1] + rng.uniform(-0.2, 0.2, 2500)])
    result = matrix.GeodesicMatrixProvider(1.3, 30).matrices(points)
    assert result.distance.shape == (2500, 2500)
    assert result.distance[1234, 2345] == round(geodesic(points[1234], points[2345]).meters * 1.3)


class CountingProvider(matrix.GeodesicMatrixProvider):
    calls = 0

    def matrices(self, points):
        CountingProvider.calls += 1
        return super().matrices(points)


def test_matrices_are_cached_per_depot_and_set_of_points(db):
    provider = CountingProvider(1.3, 30)
    points = [HANGZHOU, (30.30, 120.20)]
    first = matrix.depot_matrices(1, points, provider)
    assert matrix.depot_matrices(1, points, provider) is not None and CountingProvider.calls == 1
    assert np.array_equal(matrix.depot_matrices(1, points, provider).distance, first.distance)
    matrix.depot_matrices(2, points, provider)
    matrix.depot_matrices(1, points + [(30.2, 120.1)], provider)
    matrix.depot_matrices(1, points, CountingProvider(1.5, 30))
    assert CountingProvider.calls == 4


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_osrm(monkeypatch, answer: dict) -> list[str]:
    asked = []

    def urlopen(url, timeout):
        asked.append(url)
        return FakeResponse(json.dumps(answer).encode())

    monkeypatch.setattr(matrix, "urlopen", urlopen)
    return asked


def test_osrm_table_gives_road_distances_and_times(monkeypatch, settings):
    settings.ROUTING_OSRM_URL = "http://osrm.test:5000/"
    asked = fake_osrm(monkeypatch, {
        "code": "Ok", "distances": [[0, 1234.4], [1300.6, 0]], "durations": [[0, 95.2], [101.7, 0]],
    })
    provider = matrix.configured_provider()
    assert isinstance(provider, matrix.OsrmMatrixProvider)
    result = provider.matrices([HANGZHOU, (30.30, 120.20)])
    assert asked == ["http://osrm.test:5000/table/v1/driving/120.150000,30.270000;120.200000,30.300000"
                     "?annotations=distance,duration"]
    assert result.distance.tolist() == [[0, 1234], [1301, 0]]
    assert result.duration.tolist() == [[0, 95], [102, 0]]


@pytest.mark.parametrize("answer", [
    {"code": "InvalidQuery", "message": "Query string malformed"},
    {"code": "Ok", "distances": [[0, None], [1, 0]], "durations": [[0, 1], [1, 0]]},
])
def test_osrm_errors_and_unroutable_pairs_are_conflicts(monkeypatch, answer):
    fake_osrm(monkeypatch, answer)
    with pytest.raises(Conflict):
        matrix.OsrmMatrixProvider("http://osrm.test").matrices([HANGZHOU, (30.30, 120.20)])


def test_the_geodesic_provider_is_the_default(settings):
    settings.ROUTING_OSRM_URL = ""
    settings.ROUTING_DETOUR_FACTOR, settings.ROUTING_AVERAGE_SPEED_KMH = 1.4, 25
    provider = matrix.configured_provider()
    assert isinstance(provider, matrix.GeodesicMatrixProvider) and provider.fingerprint == "geodesic:1.4:25"
