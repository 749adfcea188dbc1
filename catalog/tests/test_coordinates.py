"""WGS-84 -> GCJ-02 against published reference pairs, and its properties."""
import pytest
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from catalog.coordinates import outside_china, wgs84_to_gcj02

# (WGS-84 lat, lng) -> (GCJ-02 lat, lng) as published by other implementations' own tests:
# wandergis/coordtransform (Tiananmen area, as in hutool's CoordinateUtilTest), geoToolbox, and a
# Shanghai-area pair from a Rust geotool's tests.
REFERENCE = [
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
    ((40.0, 116.0), (40.001213650174, 116.006141221789)),
    ((30.6107779, 121.0917077), (30.608604331756705, 121.09626935575027)),
]


@pytest.mark.parametrize("wgs84, gcj02", REFERENCE)
def test_published_reference_points_within_a_metre(wgs84, gcj02):
    assert geodesic(wgs84_to_gcj02(*wgs84), gcj02).meters < 1.0


def test_outside_china_nothing_changes():
    assert wgs84_to_gcj02(51.5074, -0.1278) == (51.5074, -0.1278)  # London
    assert wgs84_to_gcj02(1.3521, 103.8198) == (1.3521, 103.8198)  # Singapore, south of the box


@given(st.floats(18.0, 53.0), st.floats(74.0, 134.0))
def test_inside_china_the_offset_is_a_few_hundred_metres(lat, lng):
    moved = wgs84_to_gcj02(lat, lng)
    assert not outside_china(lat, lng)
    assert 0 < geodesic((lat, lng), moved).meters < 1000


@given(st.floats(-89.0, 89.0), st.floats(-179.0, 179.0))
def test_anywhere_the_result_stays_within_a_kilometre(lat, lng):
    assert geodesic((lat, lng), wgs84_to_gcj02(lat, lng)).meters < 1000
