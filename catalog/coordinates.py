"""WGS-84 (what we store, what GPS gives) to GCJ-02 (what Chinese map apps such as Amap expect).

Every latitude/longitude in our database is WGS-84. Chinese law requires maps of China to use GCJ-02,
an obfuscated datum offset by a few hundred metres; a WGS-84 point handed to Amap unconverted lands
beside the shop, across the street or in the next compound. This is the published transform (the
same as the widely used coordtransform/eviltransform ports), pure and without Django.
"""
import math

# The Krasovsky 1940 ellipsoid the transform is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323


def outside_china(lat: float, lng: float) -> bool:
    """The transform applies only inside China's rough bounding box; elsewhere GCJ-02 equals WGS-84."""
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _lat_offset(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _lng_offset(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) in WGS-84 -> (lat, lng) in GCJ-02."""
    if outside_china(lat, lng):
        return lat, lng
    d_lat = _lat_offset(lng - 105.0, lat - 35.0)
    d_lng = _lng_offset(lng - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng
