"""A real Celery worker process on the test database, for the tests marked `celery_worker`.

The worker is a separate process, so the test data must be committed: those tests use transaction=True.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app

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


def log_tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


class Worker:
    """One `celery worker` process at a time: start it, kill it like a crash, start another."""

    def __init__(self, log_path: Path, extra_env: dict):
        self.log = log_path
        self.extra_env = extra_env
        self.process = None
        self.hostname = ""

    def start(self) -> None:
        self.hostname = f"pytest-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": str(app.conf.result_backend or settings.CELERY_BROKER_URL),
            "DB_CONN_MAX_AGE": "0",
            **self.extra_env,
        }
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker",
                    "--pool=solo", "--concurrency=1", "-Q", "celery", "-n", self.hostname,
                    "--without-gossip", "--without-mingle", "--loglevel=INFO",
                ],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not app.control.ping(destination=[self.hostname], timeout=1.0):
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{log_tail(self.log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not answer a ping in {READY_TIMEOUT} s:\n{log_tail(self.log)}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as when the machine or the container dies: no task gets to finish or be acknowledged."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def worker_env():
    """Extra environment for the worker; a test overrides this fixture to change the worker's settings."""
    return {}


@pytest.fixture
def celery_worker(transactional_db, tmp_path, worker_env):
    """A started worker on the test database; stopped afterwards."""
    assert settings.CELERY_TASK_ALWAYS_EAGER is False, "CELERY_BROKER_URL is set, so tasks must not run eagerly"
    assert app.conf.task_always_eager is False
    worker = Worker(tmp_path / "worker.log", worker_env)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
