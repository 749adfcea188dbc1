"""A real round trip through the broker: a Celery worker process closes the wave in the test database.

Runs only with CELERY_BROKER_URL and PostgreSQL (see conftest.py); .ci/run provides both. The worker
is a separate process, so the test data must be committed: hence transaction=True.
"""
import os
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.result import EagerResult
from django.conf import settings
from django.db import connection

from config.celery import app
from grouporders import services, tasks
from grouporders.models import DemandLine, WaveStatus

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60


def worker_database_url() -> str:
    """The database pytest-django created (test_…), as a URL for the worker's settings."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{db['NAME']}"


def _log_tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """Start `celery worker` on the test database; wait until it answers a ping; stop it afterwards."""
    assert settings.CELERY_TASK_ALWAYS_EAGER is False, "CELERY_BROKER_URL is set, so tasks must not run eagerly"
    assert app.conf.task_always_eager is False
    hostname = f"pytest-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": str(app.conf.result_backend or settings.CELERY_BROKER_URL),
        "DB_CONN_MAX_AGE": "0",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--pool=solo", "--concurrency=1", "-Q", "celery", "-n", hostname,
                "--without-gossip", "--without-mingle", "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the worker exited with {process.returncode}:\n{_log_tail(log_path)}")
            if app.control.ping(destination=[hostname], timeout=1.0):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not answer a ping in {READY_TIMEOUT} s:\n{_log_tail(log_path)}")
            time.sleep(0.2)
        yield {"hostname": hostname, "log": log_path, "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
            _line("Wang Fang", "13800000001", deal_a, 2),
            _line("Li Min", "13800000002", deal_a, 1),
            _line("Li Min", "13800000002", deal_b, 3),
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
        pytest.fail(f"close_wave failed in the worker: {exc!r}\n{_log_tail(celery_worker['log'])}")

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
    assert "grouporders.tasks.close_wave" in celery_worker["log"].read_text()
