"""A real round trip through the broker: a Celery worker process closes the wave in the test database.

Runs only with CELERY_BROKER_URL and PostgreSQL (see conftest.py); .ci/run provides both. The worker
(tests/fixtures_worker.py) is a separate process, so the test data must be committed: hence transaction=True.
"""
from decimal import Decimal

import pytest
from celery.result import EagerResult

from grouporders import services, tasks
from grouporders.models import DemandLine, WaveStatus
from tests.fixtures_worker import log_tail

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _line(name, phone, deal, quantity):
    resident = services.ResidentInput(name=name, phone=phone)
    return services.LineInput(resident=resident, deal_id=deal.pk, quantity=quantity)


def test_close_wave_runs_in_a_worker_through_the_broker(celery_worker, network, wave, deals, leader, other_leader):
    deal_a, deal_b = deals  # 12.50 unlimited; 3.99 limited to 20 in total and 5 per resident
    p1, p2, p3 = network["points"]
    product_a, product_b = deal_a.product_id, deal_b.product_id
    services.submit_leader_order(
        user=leader,
        wave_id=wave.pk,
        pickup_point_id=p1.pk,
        lines=[
            _line("王芳", "13800000001", deal_a, 2),
            _line("李敏", "13800000002", deal_a, 1),
            _line("李敏", "13800000002", deal_b, 3),
        ],
    )
    order2 = services.submit_leader_order(
        user=leader,
        wave_id=wave.pk,
        pickup_point_id=p2.pk,
        lines=[_line("Zhou Jing", "13800000003", deal_b, 4), _line("Chen Wei", "13800000004", deal_a, 1)],
    )
    services.submit_leader_order(
        user=other_leader, wave_id=wave.pk, pickup_point_id=p3.pk, lines=[_line("Xu Lei", "13800000005", deal_a, 5)]
    )
    cancelled = order2.lines.get(deal=deal_a)
    services.cancel_order_line(user=leader, order_id=order2.pk, line_id=cancelled.pk)

    result = tasks.close_wave.delay(wave.pk)
    assert not isinstance(result, EagerResult)
    try:
        answer = result.get(timeout=60)
    except Exception as exc:  # noqa: BLE001 - whatever failed, show what the worker saw
        pytest.fail(f"close_wave failed in the worker: {exc!r}\n{log_tail(celery_worker.log)}")

    assert answer == {"wave_id": wave.pk, "demand_lines": 4, "quantity": 15}
    rows = {
        (d.pickup_point_id, d.product_id): (d.delivery_date, d.quantity, d.order_count, d.line_count, d.amount)
        for d in DemandLine.objects.filter(wave=wave)
    }
    day = wave.delivery_date
    assert rows == {
        (p1.pk, product_a): (day, 3, 1, 2, Decimal("37.50")),
        (p1.pk, product_b): (day, 3, 1, 1, Decimal("11.97")),
        (p2.pk, product_b): (day, 4, 1, 1, Decimal("15.96")),
        (p3.pk, product_a): (day, 5, 1, 1, Decimal("62.50")),
    }
    wave.refresh_from_db()
    assert wave.status == WaveStatus.CLOSED and wave.closed_at is not None

    # Retrying the task (as acks_late does after a lost worker) rebuilds the same rows.
    assert tasks.close_wave.delay(wave.pk).get(timeout=60) == answer
    assert DemandLine.objects.filter(wave=wave).count() == 4
    assert "grouporders.tasks.close_wave" in celery_worker.log.read_text()
