"""The planning tasks in eager mode: one task per depot with allocations, as a group."""
import pytest

from catalog.models import Depot
from routing import tasks
from routing.models import RoutePlan
from tests.fixtures_routing import ROUTING_DAY, allocate, make_point, make_vehicle

pytestmark = pytest.mark.django_db


def test_every_depot_with_allocations_that_day_gets_a_plan(routing_depot, two_vans):
    second = Depot.objects.create(code="D2", name="Depot 2", latitude=30.1, longitude=120.3)
    allocate(make_point(second, "Q1", 30.12, 120.31), routing_depot["products"]["ambient"], 2)
    make_vehicle(second, "VAN-D2")
    Depot.objects.create(code="D3", name="Depot 3 (nothing today)", latitude=30.0, longitude=120.0)

    depot_ids = tasks.plan_all_depots.delay(ROUTING_DAY.isoformat()).get()

    assert depot_ids == sorted([routing_depot["depot"].pk, second.pk])
    assert dict(RoutePlan.objects.values_list("depot__code", "stop_count")) == {"D1": 5, "D2": 1}


def test_a_day_without_allocations_plans_nothing(db):
    assert tasks.plan_all_depots.delay(ROUTING_DAY.isoformat()).get() == []


def test_the_depot_task_is_safe_to_retry(routing_depot, two_vans):
    first = tasks.plan_depot_routes.delay(routing_depot["depot"].pk, ROUTING_DAY.isoformat()).get()
    again = tasks.plan_depot_routes.delay(routing_depot["depot"].pk, ROUTING_DAY.isoformat()).get()
    assert first["plan_id"] == again["plan_id"] and again["stops"] == 5
    assert RoutePlan.objects.get().revision == 2
