"""report.html: the simulation's KPIs as tables and inline SVG charts, a route map per depot, and links to
the pick lists, sort lists and driver pages of the running site. Self-contained: no script, no CDN."""
from datetime import date
from html import escape
from math import cos, radians

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Depot
from grouporders.demo import CODE_PREFIX
from pipeline.models import STEP_LABELS
from routing.models import Route, RouteStop
from warehouse.models import SortList

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
WIDTH, HEIGHT, PAD = 460, 220, 58


def _svg(body: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" font-size="11">{body}</svg>'
    )


def _axis(top: float, unit: str) -> str:
    lines = []
    for k in range(5):
        value = top * k / 4
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * k / 4
        lines.append(
            f'<line x1="{PAD}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{value:,.{0 if top >= 10 else 2}f}{unit}</text>'
        )
    return "".join(lines)


def bar_chart(labels: list[str], values: list[float], unit: str = "", colour: str = COLOURS[0]):
    top = max([v for v in values if v is not None] + [1e-9]) * 1.1
    step = (WIDTH - PAD - 10) / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = PAD + i * step + step * 0.15
        h = (HEIGHT - 2 * PAD) * (value or 0) / top
        bars.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{colour}"/>'
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD - h - 4:.1f}" text-anchor="middle">{(value or 0):,.{0 if top >= 10 else 2}f}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
    return _svg(_axis(top, unit) + "".join(bars))


def diverging_chart(labels: list[str], values: list[float], interval: tuple[float, float] | None = None):
    """Differences as bars up (above zero) or down from a zero line, one per label, with the 95 %
    interval of their mean as a shaded band when given."""
    reach = max([abs(v) for v in values] + [abs(x) for x in interval or ()] + [1e-9]) * 1.15
    middle = HEIGHT / 2
    scale = (HEIGHT / 2 - PAD / 2) / reach
    step = (WIDTH - PAD - 10) / max(len(values), 1)
    parts = [f'<line x1="{PAD}" x2="{WIDTH - 10}" y1="{middle}" y2="{middle}" stroke="#555"/>']
    if interval:
        top, bottom = middle - interval[1] * scale, middle - interval[0] * scale
        parts.append(f'<rect x="{PAD}" y="{top:.1f}" width="{WIDTH - PAD - 10}" height="{max(bottom - top, 1):.1f}" '
                     f'fill="{COLOURS[0]}" fill-opacity="0.15"/>')
    for i, (label, value) in enumerate(zip(labels, values)):
        x, h = PAD + i * step + step * 0.2, value * scale
        parts.append(
            f'<rect x="{x:.1f}" y="{middle - max(h, 0):.1f}" width="{step * 0.6:.1f}" height="{abs(h):.1f}" '
            f'fill="{COLOURS[2] if value >= 0 else COLOURS[1]}"/>'
            f'<text x="{x + step * 0.3:.1f}" y="{middle - h - 4 if value >= 0 else middle - h + 12:.1f}" '
            f'text-anchor="middle">{value:+,.{0 if reach >= 10 else 2}f}</text>'
            f'<text x="{x + step * 0.3:.1f}" y="{HEIGHT - 6}" text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
    return _svg("".join(parts))


def rate_chart(labels: list[str], series: dict[str, list[float | None]]):
    """Rates between 0 and 1 as lines, one per series, with a legend."""
    step = (WIDTH - PAD - 30) / max(len(labels) - 1, 1)
    top = max([1.0] + [v for values in series.values() for v in values if v is not None])
    body = [_axis(top, "")]
    for i, label in enumerate(labels):
        body.append(f'<text x="{PAD + i * step:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" fill="#555">{escape(label)}</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top) for i, v in enumerate(values) if v is not None]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
        body.append(f'<rect x="{PAD + n * 100}" y="6" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{PAD + n * 100 + 14}" y="15">{escape(name)}</text>')
    return _svg("".join(body))


def stacked_chart(labels: list[str], parts: list[dict[str, float]]):
    """Seconds per phase, stacked per day."""
    names = list(dict.fromkeys(name for day in parts for name in day))
    top = max(sum(day.values()) for day in parts) * 1.1 or 1
    step = (WIDTH - PAD - 150) / max(len(parts), 1)
    body = [_axis(top, " s").replace(f'x2="{WIDTH - 10}"', f'x2="{WIDTH - 150}"')]
    for i, (label, day) in enumerate(zip(labels, parts)):
        x, y = PAD + i * step + step * 0.15, HEIGHT - PAD
        for n, name in enumerate(names):
            h = (HEIGHT - 2 * PAD) * day.get(name, 0) / top
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{COLOURS[n % len(COLOURS)]}">'
                        f'<title>{escape(name)} {day.get(name, 0):.2f} s</title></rect>')
        body.append(f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" fill="#555">{escape(label)}</text>')
    for n, name in enumerate(names):
        body.append(f'<rect x="{WIDTH - 140}" y="{10 + n * 16}" width="10" height="10" fill="{COLOURS[n % len(COLOURS)]}"/>'
                    f'<text x="{WIDTH - 126}" y="{19 + n * 16}">{escape(name)}</text>')
    return _svg("".join(body))


def route_map(depot: Depot, delivery_date: date, size: int = 420):
    """The depot's routes of the day on an equirectangular projection: the depot, the stops, a line per route."""
    routes = list(Route.objects.filter(plan__depot=depot, plan__delivery_date=delivery_date).order_by("code"))
    stops = list(
        RouteStop.objects.filter(route__in=routes).select_related("pickup_point").order_by("route_id", "sequence")
    )
    if not stops:
        return None
    coords = [(depot.latitude, depot.longitude)] + [(s.pickup_point.latitude, s.pickup_point.longitude) for s in stops]
    lat0 = sum(c[0] for c in coords) / len(coords)
    xs = [lng * cos(radians(lat0)) for _, lng in coords]
    ys = [lat for lat, _ in coords]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1e-6
    scale = (size - 30) / span

    def project(lat, lng):
        return 15 + (lng * cos(radians(lat0)) - min(xs)) * scale, size - 15 - (lat - min(ys)) * scale

    depot_xy = project(depot.latitude, depot.longitude)
    body = []
    for n, route in enumerate(routes):
        colour = COLOURS[n % len(COLOURS)]
        path = [depot_xy] + [project(s.pickup_point.latitude, s.pickup_point.longitude) for s in stops if s.route_id == route.pk]
        path.append(depot_xy)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" stroke-opacity="0.8" '
                    f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in path)}"><title>{escape(route.code)}</title></polyline>')
        body.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(route.code)}</title></circle>' for x, y in path[1:-1]
        )
    x, y = depot_xy
    body.append(f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="#000"><title>{escape(depot.name)}</title></rect>')
    return _svg("".join(body), size, size)


def _daily_maps(summary: dict) -> list[dict]:
    """Every simulated day's routes, a small map per depot, to see how the plans change from day to day."""
    depots = list(Depot.objects.filter(code__startswith=CODE_PREFIX).order_by("code"))
    return [
        {"day": d["delivery_date"], "vans": d["vehicles_used"], "km": d["km"],
         "maps": [(depot, route_map(depot, date.fromisoformat(d["delivery_date"]), size=220)) for depot in depots]}
        for d in summary["days"]
    ]


def _depots(summary: dict, base_url: str) -> list[dict]:
    """Per depot, for the last simulated day: its map and the documents of its routes."""
    day = date.fromisoformat(summary["days"][-1]["delivery_date"])
    sort_lists = {s.route_code: s.pk for s in SortList.objects.filter(delivery_date=day, route_code__startswith=CODE_PREFIX)}
    depots = []
    for n, depot in enumerate(Depot.objects.filter(code__startswith=CODE_PREFIX).order_by("code")):
        routes = Route.objects.filter(plan__depot=depot, plan__delivery_date=day).select_related("vehicle", "driver__user").order_by("code")
        depots.append({
            "depot": depot,
            "map": route_map(depot, day),
            "pick_list": f"{base_url}/api/pick-lists/batch.pdf?delivery_date={day}&depot_id={depot.pk}",
            "routes": [
                {
                    "route": route, "colour": COLOURS[i % len(COLOURS)], "stops": route.stops.count(),
                    "km": round(route.distance_m / 1000, 1),
                    "sort_list": f"{base_url}/api/sort-lists/{sort_lists[route.code]}.pdf" if route.code in sort_lists else None,
                    "manifest": f"{base_url}/api/routes/{route.pk}",
                    "driver_page": f"{base_url}/routing/driver/?date={day}",
                }
                for i, route in enumerate(routes)
            ],
        })
    return depots


# The simulator's phases and the cities' sizes as the report names them (summary.json keeps the codes).
PHASE_LABELS = {
    "orders": gettext_lazy("leaders' orders"), "forecast_and_purchase": gettext_lazy("forecast and purchasing"),
    "goods_receipt": gettext_lazy("goods receipts"), "top_up": gettext_lazy("night top-up at the market"),
    "pipeline": gettext_lazy("nightly pipeline"), "morning_jobs": gettext_lazy("morning jobs"),
    "deliveries": gettext_lazy("deliveries"), "point_receipts": gettext_lazy("receipts at the points"), "collection": gettext_lazy("collection"),
    "claims": gettext_lazy("after-sales claims"),
}
CITY_LABELS = {"tiny": gettext_lazy("tiny"), "small": gettext_lazy("small"), "medium": gettext_lazy("medium"), "large": gettext_lazy("large")}


def _timing_rows(days: list[dict], per_day, labels) -> list[tuple[str, list]]:
    """(label, [value per day]) for every name the first day has, in its order."""
    names = list(per_day(days[0]))
    return [(str(labels.get(name, name)), [per_day(d).get(name) for d in days]) for name in names]


def render(summary: dict, *, base_url: str) -> str:
    days = summary["days"]
    labels = [d["delivery_date"][5:] for d in days]
    charts = {
        _("GMV (¥)"): bar_chart(labels, [float(d["gmv"]) for d in days]),
        _("Order lines"): bar_chart(labels, [d["lines"] for d in days], colour=COLOURS[2]),
        _("Rates"): rate_chart(labels, {
            _("fill"): [d["fill_rate"] for d in days], _("on-time stops"): [d["on_time_stop_rate"] for d in days],
            _("pickup"): [d["pickup_rate"] for d in days], _("forecast WAPE"): [d["forecast_wape"] for d in days],
        }),
        _("Km per order"): bar_chart(labels, [d["km_per_order"] or 0 for d in days], colour=COLOURS[3]),
        _("Simulator phases (s)"): stacked_chart(labels, [
            {str(PHASE_LABELS.get(k, k)): v for k, v in d["timings"]["phases"].items()} for d in days
        ]),
        _("Pipeline steps (s)"): stacked_chart(labels, [
            {str(STEP_LABELS.get(k, k)): v or 0 for k, v in d["timings"]["pipeline_steps"].items()} for d in days
        ]),
    }
    return render_to_string("simulation/report.html", {
        "s": summary, "days": days, "charts": charts, "depots": _depots(summary, base_url), "base_url": base_url,
        "daily_maps": _daily_maps(summary),
        "last_day": days[-1]["delivery_date"], "city_label": CITY_LABELS.get(summary["city"], summary["city"]),
        "step_rows": _timing_rows(days, lambda d: {s["name"]: s for s in d["pipeline"]["steps"]}, STEP_LABELS),
        "phase_rows": _timing_rows(days, lambda d: d["timings"]["phases"], PHASE_LABELS),
    })
