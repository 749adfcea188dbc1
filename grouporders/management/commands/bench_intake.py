"""Benchmark: leaders submitting orders through the real API, served by gunicorn, under concurrency.

    python manage.py bench_intake --seconds 30 --concurrency 32 --json bench-out/intake.json

Sets up its own pickup points, leaders with API tokens, and an open wave with deals (some with a
total quantity limit, some with a per-resident limit), starts `gunicorn config.wsgi` on 127.0.0.1
with the same DATABASE_URL, and runs `--concurrency` client threads (a minimal HTTP/1.1 client on
plain sockets, keep-alive where the server allows it) that POST /api/orders with `--lines-per-order` lines each, closed loop
(each client sends its next request when the answer to the last arrives), for a warm-up and then
`--seconds` measured seconds. Every request has its own Idempotency-Key.

A 409 that says a limited deal has too little left is a business answer (`sold_out`): that client
drops the deal from its later orders, as a leader's app would. Every other non-2xx answer and every
connection failure is an error. After the run it checks each limited deal: the active order lines'
quantity must equal Deal.sold_quantity and stay within quantity_limit (`oversold` counts deals that don't).
gunicorn is stopped (SIGTERM, then SIGKILL) at the end, also on failure or Ctrl-C.
"""
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Sum

from core.services import issue_token
from grouporders import benchdata
from grouporders.models import Deal, LeaderOrder, LineStatus, OrderLine

SOLD_OUT = re.compile(r"deal (\d+) \(.*\) has only -?\d+ left")


class Command(BaseCommand):
    help = "Time order submission through the API under gunicorn with concurrent clients."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=30.0, help="measured duration")
        parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
        parser.add_argument("--concurrency", type=int, default=32, help="client threads, each with its own connection")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: cores + 1)")
        parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread)")
        parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
        parser.add_argument("--points", type=int, default=600, help="pickup points, each with its own order")
        parser.add_argument("--points-per-leader", type=int, default=2)
        parser.add_argument("--products", type=int, default=300, help="one deal per product")
        parser.add_argument("--limited", type=int, default=20, help="deals with a total quantity limit")
        parser.add_argument("--quantity-limit", type=int, default=50)
        parser.add_argument("--per-resident-limited", type=int, default=20, help="deals with a per-resident limit")
        parser.add_argument("--lines-per-order", type=int, default=20)
        parser.add_argument("--residents-per-point", type=int, default=60)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--debug", action="store_true", help="serve with DEBUG on (default: off, as in production)")
        parser.add_argument("--json", dest="json_path", help="write the figures here as JSON")
        parser.add_argument("--keep", action="store_true", help="keep the generated data (default: remove it)")

    def handle(self, *args, **opts):
        if opts["concurrency"] < 1 or opts["seconds"] <= 0 or opts["lines_per_order"] < 1:
            raise CommandError("--concurrency, --seconds and --lines-per-order must be positive")
        if not 1 <= opts["residents_per_point"] <= 999 or not 1 <= opts["points"] <= 99_999:
            raise CommandError("--residents-per-point must be 1..999 and --points 1..99999 (they make the phone numbers)")
        # The work is CPU-bound and PostgreSQL and the clients share the cores: cores + 1 measured best here.
        workers = opts["workers"] or (os.cpu_count() or 1) + 1
        tag = benchdata.new_tag()
        self.stderr.write(f"run {tag}: setting up {opts['points']} points, {opts['products']} deals")
        server = load = None
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            setup = self._set_up(tag, opts)
            connection.close()  # the server's workers and the final check open their own
            server = Gunicorn(workers, opts["worker_class"], opts["threads"], debug=opts["debug"])
            server.start()
            self.stderr.write(f"gunicorn ({workers} {opts['worker_class']} workers) on port {server.port}; loading")
            meter = CpuMeter(server.process.pid, settings.DATABASES["default"].get("NAME") or "")
            load = Load(server.port, setup, opts, meter)
            load.run()
            server.stop()
            result = self._report(load, setup, opts, workers, server)
            result["cpu"] = meter.report()
            result["loadavg_before"] = setup["loadavg"]
        finally:
            if load is not None:
                load.stop()  # on failure the client threads must not keep knocking on a stopped server
            if server is not None:
                server.stop()
            signal.signal(signal.SIGTERM, previous_sigterm)
            if not opts["keep"]:
                benchdata.cleanup_run(tag)
        text = json.dumps(result, indent=2)
        if opts["json_path"]:
            Path(opts["json_path"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["json_path"]).write_text(text + "\n")
        self.stdout.write(text)

    def _set_up(self, tag, opts) -> dict:
        with transaction.atomic():
            network = benchdata.create_network(tag, points=opts["points"], products=opts["products"])
            leaders = benchdata.create_leaders(tag, network.points, points_per_leader=opts["points_per_leader"])
            wave, deals = benchdata.create_wave_with_deals(
                network.products,
                limited=opts["limited"],
                quantity_limit=opts["quantity_limit"],
                per_resident_limited=opts["per_resident_limited"],
                per_resident_limit=3,
            )
            clients = [(issue_token(user=bl.user, name="bench")[0], bl.point_ids) for bl in leaders]
        point_index = {p.pk: i for i, p in enumerate(network.points)}
        return {
            "loadavg": benchdata.load_average(),
            "tag": tag,
            "wave_id": wave.pk,
            "deals": [(d.pk, d.quantity_limit, d.per_resident_limit) for d in deals],
            "leaders": [(token, [(pk, point_index[pk]) for pk in point_ids]) for token, point_ids in clients],
        }

    def _report(self, load, setup, opts, workers, server) -> dict:
        measured = [r for r in load.results if r.started >= load.measure_from]
        elapsed = max((r.finished for r in measured), default=load.measure_from) - load.measure_from
        latencies = sorted(r.finished - r.started for r in measured)
        statuses: dict[str, int] = {}
        for r in measured:
            statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
        accepted = sum(r.lines for r in measured if r.ok)
        oversold, detail = check_limited_deals(setup["wave_id"])
        all_errors = [r for r in load.results if r.error_kind == "error"]
        return {
            "database": benchdata.database_label(),
            "lines_per_second": round(accepted / elapsed, 1) if elapsed > 0 else 0.0,
            "requests_per_second": round(len(measured) / elapsed, 1) if elapsed > 0 else 0.0,
            "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
            "p90_ms": round(_percentile(latencies, 90) * 1000, 1),
            "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
            "requests": len(measured),
            "lines_accepted": accepted,
            "errors": sum(1 for r in measured if r.error_kind == "error"),
            "sold_out": sum(1 for r in measured if r.error_kind == "sold_out"),
            "status_counts": statuses,
            "warmup_requests": len(load.results) - len(measured),
            "warmup_errors": sum(1 for r in load.results if r.started < load.measure_from and r.error_kind == "error"),
            "first_errors": [r.detail for r in all_errors[:5]],
            "oversold": oversold,
            "limited_deals": detail,
            "orders_in_wave": LeaderOrder.objects.filter(wave_id=setup["wave_id"]).count(),
            "active_lines_in_wave": OrderLine.objects.filter(order__wave_id=setup["wave_id"], status=LineStatus.ACTIVE).count(),
            "seconds": round(elapsed, 2),
            "warmup_seconds": opts["warmup"],
            "concurrency": opts["concurrency"],
            "lines_per_order": opts["lines_per_order"],
            "workers": workers,
            "worker_class": opts["worker_class"],
            "threads": opts["threads"],
            "debug": opts["debug"],
            "points": opts["points"],
            "leaders": len(setup["leaders"]),
            "deals": len(setup["deals"]),
            "gunicorn_stopped_cleanly": server.stopped_cleanly,
            "tag": setup["tag"],
        }


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def check_limited_deals(wave_id: int) -> tuple[int, list[dict]]:
    """For each limited deal: active quantity vs sold_quantity vs quantity_limit. Returns (bad deals, detail)."""
    active = dict(
        OrderLine.objects.filter(deal__wave_id=wave_id, deal__quantity_limit__isnull=False, status=LineStatus.ACTIVE)
        .values_list("deal_id")
        .annotate(total=Sum("quantity"))
        .values_list("deal_id", "total")
    )
    bad, detail = 0, []
    for deal in Deal.objects.filter(wave_id=wave_id, quantity_limit__isnull=False).order_by("pk"):
        ordered = active.get(deal.pk, 0)
        excess = max(0, ordered - deal.quantity_limit)
        mismatch = ordered != deal.sold_quantity
        bad += bool(excess or mismatch)
        detail.append(
            {"deal_id": deal.pk, "limit": deal.quantity_limit, "sold_quantity": deal.sold_quantity,
             "ordered": ordered, "excess": excess, "mismatch": mismatch}
        )
    return bad, detail


class Gunicorn:
    """`gunicorn config.wsgi` as a child process on a free local port, with this process's environment."""

    def __init__(self, workers: int, worker_class: str, threads: int, *, debug: bool):
        self.workers, self.worker_class, self.threads, self.debug = workers, worker_class, threads, debug
        self.process = None
        self.port = None
        self.stopped_cleanly = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)

    def start(self, timeout: float = 60.0) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(os.environ)
        # The same database, secret and phone-hash key as this process; DEBUG off unless asked for.
        env.update(
            DATABASE_URL=os.environ.get("DATABASE_URL", ""),
            DEBUG="true" if self.debug else "false",
            SECRET_KEY=settings.SECRET_KEY,
            PHONE_HASH_KEY=settings.PHONE_HASH_KEY,
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        )
        if not env["DATABASE_URL"]:
            del env["DATABASE_URL"]
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", self.worker_class,
            "--threads", str(self.threads),
            "--backlog", "2048",
            "--timeout", "60",
            "--graceful-timeout", "10",
            "--keep-alive", "5",
            "--error-logfile", self.log.name,
        ]
        self.process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/openapi.json")
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise CommandError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
        try:
            self.process.wait(timeout=20)
            self.stopped_cleanly = self.process.returncode == 0
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.stopped_cleanly = False

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


class CpuMeter:
    """CPU used during the measured window (Linux /proc): this benchmark's processes vs everything on the host.

    Other work on a shared machine (2 cores here) competes with the server and PostgreSQL; the report
    shows how much there was, so that figures from a busy machine can be told apart.
    """

    def __init__(self, gunicorn_pid: int, database: str):
        self.gunicorn_pid, self.database = gunicorn_pid, database
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self.end = None

    def snapshot(self):
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
            busy_host = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # minus idle and iowait
            mine = {"client": 0, "gunicorn": 0, "postgres": 0}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read().rsplit(")", 1)[1].split()
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                used = int(stat[11]) + int(stat[12])
                if int(entry) == os.getpid():
                    mine["client"] += used
                elif int(entry) == self.gunicorn_pid or int(stat[1]) == self.gunicorn_pid:
                    mine["gunicorn"] += used
                elif cmdline.startswith("postgres:") and f" {self.database} " in cmdline:
                    mine["postgres"] += used
            return time.perf_counter(), busy_host, mine
        except (OSError, ValueError, IndexError):
            return None

    def report(self) -> dict | None:
        if not (self.start and self.end):
            return None
        seconds = self.end[0] - self.start[0]
        cores = {k: (self.end[2][k] - self.start[2][k]) / self.ticks / seconds for k in self.start[2]}
        host = (self.end[1] - self.start[1]) / self.ticks / seconds
        return {
            "host_busy_cores": round(host, 2),
            **{f"{k}_cores": round(v, 2) for k, v in cores.items()},
            "other_processes_cores": round(max(0.0, host - sum(cores.values())), 2),
            "cpu_count": os.cpu_count(),
        }


class Result:
    __slots__ = ("started", "finished", "status", "lines", "ok", "error_kind", "detail")

    def __init__(self, started, finished, status, lines, error_kind=None, detail=None):
        self.started, self.finished, self.status, self.lines = started, finished, status, lines
        self.ok = status is not None and 200 <= status < 300
        self.error_kind, self.detail = error_kind, detail


class Load:
    """Closed-loop client threads, each with one keep-alive connection, each picking a random leader and point."""

    def __init__(self, port: int, setup: dict, opts: dict, meter: CpuMeter | None = None):
        self.port = port
        self.meter = meter
        self.wave_id = setup["wave_id"]
        self.tag = setup["tag"]
        # Popularity follows this shuffled order (the first deals sell most), so limited deals are spread.
        self.deals = list(setup["deals"])
        random.Random(opts["seed"]).shuffle(self.deals)
        # Phone numbers: 1, three digits of this run, the point's index, the resident's number.
        self.phone_prefix = f"1{int(self.tag[-4:], 16) % 1000:03d}"
        self.leaders = setup["leaders"]
        self.opts = opts
        self.sold_out: set[int] = set()
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self.measure_from = 0.0
        self.stop_at = 0.0

    def run(self) -> None:
        started = time.perf_counter()
        self.measure_from = started + self.opts["warmup"]
        self.stop_at = self.measure_from + self.opts["seconds"]
        threads = [
            threading.Thread(target=self._client, args=(i,), name=f"bench-client-{i}", daemon=True)
            for i in range(self.opts["concurrency"])
        ]
        for thread in threads:
            thread.start()
        if self.meter is not None:
            time.sleep(max(0.0, self.measure_from - time.perf_counter()))
            self.meter.start = self.meter.snapshot()
            time.sleep(max(0.0, self.stop_at - time.perf_counter()))
            self.meter.end = self.meter.snapshot()
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        self.stop_at = float("-inf")

    def _body(self, rng: random.Random, point_id: int, point_index: int) -> tuple[bytes, int]:
        """`lines_per_order` lines: residents of this point (own pool per point), distinct (resident, deal)."""
        wanted = self.opts["lines_per_order"]
        pool = self.opts["residents_per_point"]
        available = [d for d in self.deals if d[0] not in self.sold_out]
        lines, seen = [], set()
        while len(lines) < wanted and len(seen) < pool * len(available):
            resident = rng.randrange(pool)
            deal_id, quantity_limit, per_resident_limit = available[int(len(available) * rng.random() ** 2)]
            if (resident, deal_id) in seen:
                continue
            seen.add((resident, deal_id))
            top = 2 if (quantity_limit or per_resident_limit) else 4
            lines.append(
                {
                    "resident": {
                        "name": f"{self.tag} resident {point_index}-{resident}",
                        "phone": f"{self.phone_prefix}{point_index:05d}{resident:03d}",
                        "consent": resident % 3 != 0,
                    },
                    "deal_id": deal_id,
                    "quantity": rng.randint(1, top),
                }
            )
        body = {"wave_id": self.wave_id, "pickup_point_id": point_id, "lines": lines}
        return json.dumps(body).encode(), len(lines)

    def _client(self, index: int) -> None:
        rng = random.Random(f"{self.opts['seed']}-{index}")
        conn = RawHttpConnection("127.0.0.1", self.port, timeout=60)
        results = []
        try:
            while True:
                now = time.perf_counter()
                if now >= self.stop_at:
                    break
                token, point_ids = self.leaders[rng.randrange(len(self.leaders))]
                point_id, point_index = rng.choice(point_ids)
                body, count = self._body(rng, point_id, point_index)
                headers = (
                    f"Authorization: Bearer {token}\r\nIdempotency-Key: {uuid.uuid4().hex}\r\n"
                    "Content-Type: application/json\r\n"
                )
                started = time.perf_counter()
                try:
                    status, payload = conn.post("/api/orders", headers, body)
                except (OSError, ValueError) as exc:
                    conn.close()  # reconnect on the next request
                    results.append(Result(started, time.perf_counter(), None, count, "error", repr(exc)))
                    continue
                finished = time.perf_counter()
                if 200 <= status < 300:
                    results.append(Result(started, finished, status, count))
                    continue
                detail = payload[:300].decode(errors="replace")
                match = SOLD_OUT.search(detail) if status == 409 else None
                if match:
                    self.sold_out.add(int(match.group(1)))
                    results.append(Result(started, finished, status, count, "sold_out", detail))
                else:
                    results.append(Result(started, finished, status, count, "error", f"{status} {detail}"))
        finally:
            conn.close()
            with self._lock:
                self.results.extend(results)


class RawHttpConnection:
    """Just enough HTTP/1.1 for the load: POST with Content-Length, read a Content-Length answer, keep the
    connection while the server keeps it. http.client parses every answer's headers with the email
    package; on a 2-core machine shared with the server, that client CPU was taken from the server."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buffer = b""

    def post(self, path: str, headers: str, body: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.buffer = b""
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" not in fields:
            raise ValueError(f"answer without Content-Length: {status_line}")
        length = int(fields["content-length"])
        while len(self.buffer) < length:
            self._receive()
        payload, self.buffer = self.buffer[:length], self.buffer[length:]
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, payload

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-answer")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
