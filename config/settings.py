"""Settings come from environment variables; every default is safe for a developer laptop."""
import json
import os
import secrets
from datetime import time
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)


def _development_secret_key() -> str:
    # Generated once per checkout and kept, so sessions and phone hashes survive restarts.
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    # The order of the business day: an app may use the apps above it, never below.
    "core",
    "catalog",
    "grouporders",
    "warehouse",
    "procurement",
    "routing",
    "pickup",
    "pipeline",  # the nightly pipeline, which knows every app above
    "simulation",  # the city simulator, which drives every app
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (a user's chosen language lives there), before common (language-aware redirects).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # Prepared statements (core.rawsql) are planned for their parameters at each run. A generic plan is
    # cached per connection from the tables as they were then: made on a morning's small tables, it kept
    # scanning them whole as the day's orders grew (intake on a new database: 2,895 lines/s, p99 265 ms,
    # against 4,446 lines/s, p99 183 ms re-planned).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c plan_cache_mode=force_custom_plan"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The users are Chinese: Simplified Chinese unless the browser (Accept-Language) or the user's choice
# (the language switch, kept in the session) asks for English.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# Each app keeps its translations in its own locale/; these hold the project-wide templates' and those of
# config/ (the API root's errors), which is not an app.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "config" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: without a broker the tasks run inline (eager), which is what the demo uses.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# The in-memory transport keeps eager mode from reaching for a broker on localhost.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (None if CELERY_TASK_ALWAYS_EAGER else CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # The pipeline closes the wave first, then runs the rest of the night.
    "start-pipelines-past-cutoff": {"task": "pipeline.tasks.start_due_pipelines", "schedule": 60.0},
    "write-off-expired-lots": {"task": "warehouse.tasks.write_off_expired", "schedule": crontab(hour=0, minute=30)},
    "forget-old-idempotency-keys": {"task": "core.tasks.forget_old_idempotency_keys", "schedule": crontab(hour=4, minute=0)},
}

# Business settings.
ORDER_CUTOFF_TIME = time.fromisoformat(os.environ.get("ORDER_CUTOFF_TIME", "23:00"))
# Phone numbers are looked up by a keyed hash; the key must outlive SECRET_KEY rotations in production.
PHONE_HASH_KEY = os.environ.get("PHONE_HASH_KEY") or SECRET_KEY
# Goods allocated for day D must still be good this many days after D.
ALLOCATION_MIN_REMAINING_DAYS = int(os.environ.get("ALLOCATION_MIN_REMAINING_DAYS", "1"))
# When short, a point whose leader ordered first may weigh up to 1 + this in the fair share (0: off).
ALLOCATION_ORDER_TIME_WEIGHT = float(os.environ.get("ALLOCATION_ORDER_TIME_WEIGHT", "0"))
# A tote (crate) holds this much; each temperature zone is packed in its own totes.
CRATE_VOLUME_ML = int(os.environ.get("CRATE_VOLUME_ML", "40000"))
CRATE_MAX_WEIGHT_G = int(os.environ.get("CRATE_MAX_WEIGHT_G", "15000"))
IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "48"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- routing: distance matrices, the solver and stop service times ---
# Road distance ≈ geodesic distance × this factor (ignored when an OSRM table service is set).
ROUTING_DETOUR_FACTOR = float(os.environ.get("ROUTING_DETOUR_FACTOR", "1.3"))
ROUTING_AVERAGE_SPEED_KMH = float(os.environ.get("ROUTING_AVERAGE_SPEED_KMH", "30"))
# e.g. http://osrm:5000 — its table API then gives road distances and times instead of geodesics.
ROUTING_OSRM_URL = os.environ.get("ROUTING_OSRM_URL", "")
ROUTING_OSRM_PROFILE = os.environ.get("ROUTING_OSRM_PROFILE", "driving")
ROUTING_OSRM_TIMEOUT_SECONDS = float(os.environ.get("ROUTING_OSRM_TIMEOUT_SECONDS", "30"))
ROUTING_MATRIX_CACHE_SECONDS = int(os.environ.get("ROUTING_MATRIX_CACHE_SECONDS", str(24 * 3600)))
# Search time per depot. Depots are planned in parallel (one Celery task each), so each search uses
# one core by default; raise the workers where a depot has the machine to itself.
ROUTING_SOLVER_TIME_LIMIT_SECONDS = float(os.environ.get("ROUTING_SOLVER_TIME_LIMIT_SECONDS", "30"))
ROUTING_SOLVER_WORKERS = int(os.environ.get("ROUTING_SOLVER_WORKERS", "1"))
# An iteration budget instead of the time limit: with a fixed seed the same problem then gives the same
# plan on any machine and under any load (the simulator's reproducible runs). Unset: time-limited.
ROUTING_SOLVER_MAX_ITERATIONS = int(os.environ["ROUTING_SOLVER_MAX_ITERATIONS"]) if os.environ.get("ROUTING_SOLVER_MAX_ITERATIONS") else None
# Time at a stop: a fixed part (parking, handover) plus unloading per crate.
ROUTING_SERVICE_FIXED_SECONDS = int(os.environ.get("ROUTING_SERVICE_FIXED_SECONDS", "300"))
ROUTING_SERVICE_PER_CRATE_SECONDS = int(os.environ.get("ROUTING_SERVICE_PER_CRATE_SECONDS", "20"))

# --- pickup app: receipt at the point, pickup codes, returns, claims, refunds, leader commission -------------

# Uncollected goods go back (long-life) or are written off (perishable) this many days after delivery.
PICKUP_RETURN_AFTER_DAYS = int(os.environ.get("PICKUP_RETURN_AFTER_DAYS", "2"))
# Ambient goods with at least this shelf life go back into depot stock; everything else is written off.
PICKUP_RESTOCK_MIN_SHELF_LIFE_DAYS = int(os.environ.get("PICKUP_RESTOCK_MIN_SHELF_LIFE_DAYS", "7"))
PICKUP_CLAIM_WINDOW_HOURS = int(os.environ.get("PICKUP_CLAIM_WINDOW_HOURS", "48"))
PICKUP_SETTLEMENT_DAYS = int(os.environ.get("PICKUP_SETTLEMENT_DAYS", "7"))
# Per leader tier: [monthly collected GMV from which a rate applies, rate]; JSON in the environment.
PICKUP_COMMISSION_TIERS = json.loads(
    os.environ.get("PICKUP_COMMISSION_TIERS")
    or '{"ordinary": [[0, "0.05"], [10000, "0.06"], [30000, "0.07"], [60000, "0.08"]],'
    ' "core": [[0, "0.10"], [30000, "0.12"], [60000, "0.15"]]}'
)
# Optional rate per product category, replacing the tier rate, e.g. {"fruit": "0.09"}.
PICKUP_COMMISSION_CATEGORY_RATES = json.loads(os.environ.get("PICKUP_COMMISSION_CATEGORY_RATES") or "{}")
# No line ever carries more commission than this share of its revenue (leader and head leader together).
PICKUP_COMMISSION_CAP = Decimal(os.environ.get("PICKUP_COMMISSION_CAP", "0.25"))
# One upstream level at most: the head leader's bonus on a recruit's lines; off by default.
PICKUP_HEAD_LEADER_BONUS_ENABLED = env_bool("PICKUP_HEAD_LEADER_BONUS_ENABLED", False)
PICKUP_HEAD_LEADER_BONUS_RATE = Decimal(os.environ.get("PICKUP_HEAD_LEADER_BONUS_RATE", "0.01"))
PICKUP_CODE_DIGITS = int(os.environ.get("PICKUP_CODE_DIGITS", "6"))
# Dotted path of a callable that gets each batch of new plain codes (an SMS or mini-program sender);
# empty: the codes go only to whoever issued them (the operator API answers them once).
PICKUP_CODE_SENDER = os.environ.get("PICKUP_CODE_SENDER", "")
# Key of the pickup codes' hashes; like PHONE_HASH_KEY it should outlive SECRET_KEY rotations.
PICKUP_CODE_HASH_KEY = os.environ.get("PICKUP_CODE_HASH_KEY") or PHONE_HASH_KEY
# Guessing codes: this many wrong codes at one point within the window lock that point for the lock time.
PICKUP_CODE_MAX_FAILURES = int(os.environ.get("PICKUP_CODE_MAX_FAILURES", "5"))
PICKUP_CODE_FAILURE_WINDOW_SECONDS = int(os.environ.get("PICKUP_CODE_FAILURE_WINDOW_SECONDS", "600"))
PICKUP_CODE_LOCK_SECONDS = int(os.environ.get("PICKUP_CODE_LOCK_SECONDS", "600"))
# The privacy consent wording residents are shown now; recorded with each resident's consent.
RESIDENT_CONSENT_VERSION = os.environ.get("RESIDENT_CONSENT_VERSION", "2026-01")
CELERY_BEAT_SCHEDULE.update({
    "pickup-record-shortage-refunds": {"task": "pickup.tasks.record_todays_shortage_refunds", "schedule": crontab(hour=5, minute=0)},
    "pickup-return-uncollected": {"task": "pickup.tasks.return_uncollected", "schedule": crontab(hour=1, minute=0)},
    "pickup-settle-commissions": {"task": "pickup.tasks.settle_commissions", "schedule": crontab(hour=2, minute=0)},
})

# --- procurement app ---
# A receipt may accept up to ordered × (1 + this) units on a line (suppliers round to whole cases).
PROCUREMENT_RECEIPT_TOLERANCE = float(os.environ.get("PROCUREMENT_RECEIPT_TOLERANCE", "0.05"))
# Share of its cost a leftover long-life unit loses by waiting for a later wave (space, capital, risk).
PROCUREMENT_CARRY_COST_RATE = float(os.environ.get("PROCUREMENT_CARRY_COST_RATE", "0.05"))
# Suggestions order the net need divided by the preferred supplier's delivery rate (units accepted
# over units ordered on its orders due in this many days before), shrunk toward full delivery as if
# PROCUREMENT_DELIVERY_PRIOR_LINES more lines had arrived in full.
PROCUREMENT_DELIVERY_HISTORY_DAYS = int(os.environ.get("PROCUREMENT_DELIVERY_HISTORY_DAYS", "28"))
PROCUREMENT_DELIVERY_PRIOR_LINES = float(os.environ.get("PROCUREMENT_DELIVERY_PRIOR_LINES", "10"))
# What purchase suggestions buy up to when demand is a forecast: "newsvendor" (the quantile at each
# product's critical ratio of price, cost and salvage), "mean" (the forecast's mean) or
# "service_level" (the quantile PROCUREMENT_SERVICE_LEVEL for every product).
PROCUREMENT_POLICY = os.environ.get("PROCUREMENT_POLICY", "newsvendor")
PROCUREMENT_SERVICE_LEVEL = float(os.environ["PROCUREMENT_SERVICE_LEVEL"]) if os.environ.get("PROCUREMENT_SERVICE_LEVEL") else None
if PROCUREMENT_POLICY not in ("newsvendor", "mean", "service_level"):
    raise ImproperlyConfigured("PROCUREMENT_POLICY must be newsvendor, mean or service_level")
if PROCUREMENT_POLICY == "service_level" and not 0 < (PROCUREMENT_SERVICE_LEVEL or 0) < 1:
    raise ImproperlyConfigured("PROCUREMENT_SERVICE_LEVEL must be between 0 and 1 with PROCUREMENT_POLICY=service_level")
# Purchase suggestions for tomorrow are proposed at this local time (D-1 ~18:00 in the business day).
PROCUREMENT_SUGGEST_AT = time.fromisoformat(os.environ.get("PROCUREMENT_SUGGEST_AT", "17:30"))
CELERY_BEAT_SCHEDULE["procurement-suggest-purchases"] = {
    "task": "procurement.tasks.suggest_tomorrows_purchases",
    "schedule": crontab(hour=PROCUREMENT_SUGGEST_AT.hour, minute=PROCUREMENT_SUGGEST_AT.minute),
}
