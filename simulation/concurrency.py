"""Many leaders or drivers at once: a phase's independent service calls on several database connections.

In the city they work at the same time; the simulator lets them where the database serves several
writers at once (PostgreSQL), so one call's database work overlaps another's Python. Each call must
touch only its own rows (a leader's lines, a point's receipt, a stop), so the results do not depend
on the interleaving. On SQLite, which has one writer, the calls run one after another.
"""
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

WORKERS = 2  # the CI machine's cores: more threads only queue for the GIL and the server


def throwaway_commits() -> None:
    """The simulated city is throwaway data: this connection's commits need not wait for the disk
    (a crash may lose the last of them; it cannot corrupt anything)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
        elif connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit = off")


def each(function: Callable, items: Iterable, workers: int = WORKERS) -> list:
    """function(item) for every item, the results in the items' order."""
    if connection.vendor != "postgresql" or workers < 2:
        return [function(item) for item in items]
    numbered = enumerate(items)
    taking = threading.Lock()
    results = {}

    def work() -> None:
        throwaway_commits()
        try:
            while True:
                with taking:
                    index, item = next(numbered, (None, None))
                if index is None:
                    return
                results[index] = function(item)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()  # a worker's error is raised here
    return [results[index] for index in sorted(results)]
