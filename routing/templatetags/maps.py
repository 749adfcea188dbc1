"""Links that open a Chinese map app's navigation to a place: {{ pickup_point|amap_navigation }}."""
from urllib.parse import urlencode

from django import template

from catalog.coordinates import wgs84_to_gcj02

register = template.Library()


@register.filter
def amap_navigation(place) -> str:
    """Amap (高德) URI API: car navigation to the place, opening the app when installed, else its web page.

    `place` has WGS-84 latitude/longitude and a name; Amap takes GCJ-02 as "lng,lat,name".
    """
    lat, lng = wgs84_to_gcj02(float(place.latitude), float(place.longitude))
    query = {
        "to": f"{lng:.6f},{lat:.6f},{place.name}",
        "mode": "car", "coordinate": "gaode", "callnative": "1", "src": "groupbuy-fulfilment",
    }
    return "https://uri.amap.com/navigation?" + urlencode(query)
