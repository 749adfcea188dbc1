"""load_network: the network and the product range from CSV or JSON, all or nothing, every bad row reported."""
import json
from datetime import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog import services
from catalog.models import Depot, PickupPoint, Product, Warehouse

# These tests compare the loader's English report.
pytestmark = pytest.mark.english

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COLUMNS = (
    "kind,code,sku,name,address,latitude,longitude,warehouse,depot,opens_at,closes_at,is_active,"
    "category,unit,weight_g,volume_ml,storage_temperature,shelf_life_days"
)
GOOD_DEPOT = {"kind": "depot", "code": "DP-T", "name": "Test depot", "latitude": 30.2, "longitude": 120.1}
GOOD_POINT = {
    "kind": "pickup_point", "code": "PP-T", "name": "Test point", "address": "1 Test Rd",
    "latitude": 30.21, "longitude": 120.11, "depot": "DP-T",
}
GOOD_PRODUCT = {
    "kind": "product", "sku": "SKU-T", "name": "Test pears", "category": "fruit", "unit": "bag 1 kg",
    "weight_g": 1000, "volume_ml": 1500, "storage_temperature": "ambient", "shelf_life_days": 10,
}
EXAMPLE_COUNTS = {"warehouse": 1, "depot": 3, "pickup_point": 10, "product": 11}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_json(tmp_path, records):
    return write(tmp_path, "network.json", json.dumps(records, indent=2, ensure_ascii=False))


def database_state():
    models = (Warehouse, Depot, PickupPoint, Product)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


def created(report):
    return {kind: counts.created for kind, counts in report.counts.items()}


def unchanged(report):
    return {kind: counts.unchanged for kind, counts in report.counts.items()}


def problems(path):
    """(line, field) of every error the import reports, checking that it wrote nothing."""
    before = database_state()
    with pytest.raises(services.NetworkFileInvalid) as caught:
        services.load_network(path)
    assert database_state() == before
    return [(error.line, error.field) for error in caught.value.errors]


# --- good files ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_imports_the_example_json():
    report = services.load_network(EXAMPLES / "network.json")

    assert created(report) == EXAMPLE_COUNTS
    assert Depot.objects.get(code="DP-XH").warehouse.code == "WH-HZ"
    point = PickupPoint.objects.select_related("depot").get(code="PP-BJ-001")
    window = (point.opens_at, point.closes_at)
    assert (point.depot.code, window, point.is_active) == ("DP-BJ", (time(7, 30), time(22)), True)
    assert point.name == "星耀城便利店"
    dumplings = Product.objects.get(sku="FRZ-DUMPLING-1KG")
    assert (dumplings.storage_temperature, dumplings.weight_g, dumplings.shelf_life_days) == ("frozen", 1030, 180)
    assert dumplings.is_active


@pytest.mark.django_db
def test_the_example_csv_holds_the_same_network_as_the_json():
    assert created(services.load_network(EXAMPLES / "network.csv")) == EXAMPLE_COUNTS

    assert unchanged(services.load_network(EXAMPLES / "network.json")) == EXAMPLE_COUNTS


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["network.json", "network.csv"])
def test_importing_the_same_file_again_changes_nothing(name):
    services.load_network(EXAMPLES / name)
    before = database_state()

    report = services.load_network(EXAMPLES / name)

    assert unchanged(report) == EXAMPLE_COUNTS
    assert all(counts.created == counts.updated == 0 for counts in report.counts.values())
    assert database_state() == before


@pytest.mark.django_db
def test_existing_rows_are_updated_by_code_and_blank_cells_take_the_defaults(tmp_path):
    services.load_network(EXAMPLES / "network.json")
    PickupPoint.objects.filter(code="PP-XH-001").update(is_active=False)
    path = write(tmp_path, "update.csv", "\n".join([
        COLUMNS,
        # Moves to another depot, closes earlier and, with is_active blank, is active again.
        "pickup_point,PP-XH-001,,文三路邻里便利店,杭州市西湖区文三路 259 号,30.279,120.129,,DP-GS,07:30,19:00,,,,,,,",
        "product,,GRA-RICE-5KG,五常大米,,,,,,,,false,grain,bag 5 kg,5050,6500,ambient,365",
        "product,,NEW-SKU,New thing,,,,,,,,,grain,bag,100,100,ambient,30",
    ]))

    report = services.load_network(path)

    assert (report.counts["pickup_point"].updated, report.counts["product"].updated) == (1, 1)
    assert report.counts["product"].created == 1
    point = PickupPoint.objects.get(code="PP-XH-001")
    assert (point.depot.code, point.closes_at, point.is_active) == ("DP-GS", time(19), True)
    assert not Product.objects.get(sku="GRA-RICE-5KG").is_active
    assert PickupPoint.objects.count() == 10


@pytest.mark.django_db
def test_jsonl_one_object_per_line(tmp_path):
    path = write(tmp_path, "network.jsonl", "\n".join(json.dumps(r) for r in (GOOD_DEPOT, GOOD_POINT)) + "\n")

    assert created(services.load_network(path)) == {"warehouse": 0, "depot": 1, "pickup_point": 1, "product": 0}


# --- bad rows ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_csv_rows_are_all_reported_by_line_and_nothing_is_imported(tmp_path):
    services.load_network(EXAMPLES / "network.csv")
    path = write(tmp_path, "bad.csv", "\n".join([
        COLUMNS,
        "warehouse,WH-NEW,,New warehouse,,30.5,120.3,,,,,,,,,,,",  # 2: good, must not be imported
        "depot,DP-XH,,西湖网格仓 renamed,,30.281,120.098,WH-HZ,,,,,,,,,,",  # 3: good update, must not be applied
        "pickup_point,PP-NEW,,New point,,30.2,120.1,,DP-XH,09:00,08:00,,,,,,,",  # 4: no address, window reversed
        'pickup_point,PP-NEW-2,,New point 2,"Building 3',  # 5: a quoted address over two lines
        'Unit 101",30.2,120.1,,DP-XH,8am,,,,,,,,',  # 6: … with a time that does not parse
        "product,,SKU-BAD,Bad product,,,,,,,,,veg,bag,0,-5,warm,",  # 7: four bad fields
        "depot,DP-GS,,Again,,30.3,120.1,,,,,,,,,,,",  # 8: fine alone, but DP-GS is in the file once already
        "depot,DP-GS,,Again,,30.3,120.1,,,,,,,,,,,",  # 9: duplicate of line 8
        "shop,S1,,,,,,,,,,,,,,,,",  # 10: unknown kind
        "product,,SKU-OK,Good product,,,,,,,,,veg,bag,1,1,ambient,1",  # 11: good
    ]))

    assert problems(path) == [
        (4, "address"),
        (4, "closes_at"),
        (5, "opens_at"),
        (7, "weight_g"),
        (7, "volume_ml"),
        (7, "storage_temperature"),
        (7, "shelf_life_days"),
        (9, "code"),
        (10, "kind"),
    ]
    assert Depot.objects.get(code="DP-XH").name == "西湖网格仓"


@pytest.mark.django_db
def test_bad_json_records_are_reported_at_the_line_they_start_on(tmp_path):
    records = [
        GOOD_DEPOT,  # lines 2-8
        {**GOOD_POINT, "closes_at": "07:00"},  # lines 9-18
        {**GOOD_PRODUCT, "weight_g": "heavy", "is_active": "maybe"},  # lines 19-30
        {**GOOD_PRODUCT, "sku": "SKU-2", "name": ""},  # lines 31-41
        "not an object",  # line 42
        {"code": "X"},  # lines 43-45
    ]
    path = write_json(tmp_path, records)

    assert problems(path) == [
        (9, "closes_at"),
        (19, "weight_g"),
        (19, "is_active"),
        (31, "name"),
        (42, None),
        (43, "kind"),
    ]


@pytest.mark.django_db
def test_a_code_twice_on_one_line_of_json_is_a_duplicate(tmp_path):
    path = write(tmp_path, "network.json", json.dumps([GOOD_DEPOT, GOOD_DEPOT]))

    assert problems(path) == [(1, "code")]


@pytest.mark.django_db
def test_references_resolve_against_the_file_and_the_database(tmp_path, network):
    path = write_json(tmp_path, [
        {**GOOD_POINT, "code": "PP-1", "depot": "D1"},  # D1 is only in the database
        {**GOOD_POINT, "code": "PP-2", "depot": "DP-T"},  # DP-T comes later in the file
        GOOD_DEPOT,
    ])

    services.load_network(path)

    assert PickupPoint.objects.get(code="PP-1").depot == network["depot"]
    assert PickupPoint.objects.get(code="PP-2").depot.code == "DP-T"


@pytest.mark.django_db
def test_unknown_references_are_reported(tmp_path):
    path = write_json(tmp_path, [
        {**GOOD_DEPOT, "warehouse": "WH-NOWHERE"},
        {**GOOD_POINT, "depot": "DP-NOWHERE"},
        {**GOOD_POINT, "code": "PP-2", "depot": None},
    ])

    with pytest.raises(services.NetworkFileInvalid) as caught:
        services.load_network(path)

    assert [str(error) for error in caught.value.errors] == [
        "line 2, warehouse: no warehouse with code WH-NOWHERE in this file or the database",
        "line 10, depot: no depot with code DP-NOWHERE in this file or the database",
        "line 19, depot: This field is required.",
    ]
    assert not Depot.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [("latitude", 90.5), ("latitude", -91), ("longitude", 180.01), ("longitude", -181), ("latitude", "north")],
)
def test_out_of_range_coordinates_are_reported(tmp_path, field, value):
    path = write_json(tmp_path, [{**GOOD_DEPOT, field: value}, {**GOOD_POINT, field: value}])

    assert problems(path) == [(2, field), (9, field)]


@pytest.mark.django_db
def test_coordinates_on_the_edges_are_accepted(tmp_path):
    services.load_network(write_json(tmp_path, [{**GOOD_DEPOT, "latitude": -90, "longitude": 180}]))

    assert Depot.objects.filter(latitude=-90, longitude=180).exists()


@pytest.mark.django_db
def test_cells_that_do_not_apply_to_the_kind_are_reported(tmp_path):
    path = write_json(tmp_path, [{**GOOD_PRODUCT, "latitude": 30.1, "depot": ""}, {**GOOD_DEPOT, "lat": 30.1}])

    assert problems(path) == [(2, "latitude"), (15, "lat")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text, line",
    [
        ('{"kind": "depot"}', 1),
        ('[\n  {"kind": "depot",\n   "code": "A"\n   "name": "B"}\n]', 4),
        ('[\n  {"kind": "depot"}\n]\n[]', 4),
    ],
)
def test_malformed_json_is_reported_with_its_line(tmp_path, text, line):
    assert problems(write(tmp_path, "network.json", text)) == [(line, None)]


@pytest.mark.django_db
def test_csv_needs_a_kind_column(tmp_path):
    assert problems(write(tmp_path, "network.csv", "code,name\nD1,Depot\n")) == [(1, None)]


# --- the command -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_prints_the_counts_per_kind():
    out = StringIO()

    call_command("load_network", str(EXAMPLES / "network.json"), stdout=out)

    assert out.getvalue().splitlines() == [
        "warehouse: 1 created, 0 updated, 0 unchanged",
        "depot: 3 created, 0 updated, 0 unchanged",
        "pickup_point: 10 created, 0 updated, 0 unchanged",
        "product: 11 created, 0 updated, 0 unchanged",
    ]


@pytest.mark.django_db
def test_command_prints_every_bad_row_and_fails(tmp_path):
    path = write(tmp_path, "bad.csv", "\n".join([
        COLUMNS,
        "depot,DP-1,,Depot,,95,120,,,,,,,,,,,",
        "depot,DP-2,,Depot,,30,120,WH-NOWHERE,,,,,,,,,,",
    ]))
    err = StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("load_network", str(path), stderr=err)

    assert err.getvalue().splitlines() == [
        "line 2, latitude: Ensure this value is less than or equal to 90.",
        "line 3, warehouse: no warehouse with code WH-NOWHERE in this file or the database",
    ]
    assert not Depot.objects.exists()


@pytest.mark.django_db
def test_command_refuses_other_file_types(tmp_path):
    with pytest.raises(CommandError, match="expected a .csv, .json or .jsonl file"):
        call_command("load_network", str(write(tmp_path, "network.xlsx", "")))

