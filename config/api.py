"""The one NinjaAPI: mounts every app's router and turns errors into {"detail", "field", "code"} JSON."""
from django.core.exceptions import PermissionDenied
from django.db import DataError, IntegrityError
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

import catalog.api
import grouporders.api
import pickup.api
import pipeline.api
import procurement.api
import routing.api
import warehouse.api
from core.auth import api_auth
from core.errors import ServiceError

api = NinjaAPI(
    title="Group-buy fulfilment API",
    version="1",
    auth=api_auth,
    description="Bearer tokens for API clients (Authorization: Bearer …), the Django session for pages. "
    'Errors answer {"detail": …, "field": …, "code": …}: code is stable, detail follows Accept-Language (zh-hans by default).',
)
api.add_router("/", catalog.api.router)
api.add_router("/", grouporders.api.router)
api.add_router("/", warehouse.api.router)
api.add_router("/", procurement.api.router)
api.add_router("/", routing.api.router)
api.add_router("/", pickup.api.router)
api.add_router("/", pipeline.api.router)


def _error(request, status: int, detail, field: str | None = None, code: str = "error", **extra):
    return api.create_response(request, {"detail": str(detail), "field": field, "code": code, **extra}, status=status)


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):
    return _error(request, exc.status_code, exc.detail, exc.field, exc.code)


def _field_path(loc) -> str:
    # ("body", "payload", "lines", 0, "quantity") -> "lines.0.quantity"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts)


# Pydantic's messages are English: English requests get them as they are; in Chinese the common
# error types are said again here, keyed by pydantic's type (which is also each error's `code`), with
# the numbers of the constraint (ctx) as named placeholders.
VALIDATION_MESSAGES = {
    "missing": _("this field is required"),
    "int_parsing": _("enter a whole number"),
    "int_type": _("enter a whole number"),
    "int_from_float": _("enter a whole number"),
    "float_parsing": _("enter a number"),
    "float_type": _("enter a number"),
    "decimal_parsing": _("enter a number"),
    "decimal_type": _("enter a number"),
    "decimal_max_digits": _("at most %(max_digits)s digits"),
    "decimal_max_places": _("at most %(decimal_places)s decimal places"),
    "decimal_whole_digits": _("too many digits before the decimal point"),
    "finite_number": _("enter a finite number"),
    "bool_parsing": _("enter true or false"),
    "bool_type": _("enter true or false"),
    "date_from_datetime_parsing": _("enter a date as YYYY-MM-DD"),
    "date_from_datetime_inexact": _("enter a date as YYYY-MM-DD"),
    "date_parsing": _("enter a date as YYYY-MM-DD"),
    "date_type": _("enter a date as YYYY-MM-DD"),
    "datetime_parsing": _("enter a date and time in ISO 8601"),
    "datetime_from_date_parsing": _("enter a date and time in ISO 8601"),
    "datetime_type": _("enter a date and time in ISO 8601"),
    "timezone_aware": _("the time needs a time zone"),
    "string_type": _("enter text"),
    "string_too_short": _("enter at least %(min_length)s characters"),
    "string_too_long": _("enter at most %(max_length)s characters"),
    "string_pattern_mismatch": _("this text contains characters that are not allowed"),
    "greater_than": _("must be greater than %(gt)s"),
    "greater_than_equal": _("must be at least %(ge)s"),
    "less_than": _("must be less than %(lt)s"),
    "less_than_equal": _("must be at most %(le)s"),
    "list_type": _("enter a list"),
    "too_short": _("enter at least %(min_length)s items"),
    "too_long": _("enter at most %(max_length)s items"),
    "dict_type": _("enter an object"),
    "model_type": _("enter an object"),
    "model_attributes_type": _("enter an object"),
    "json_invalid": _("the request body is not valid JSON"),
    "json_type": _("the request body is not valid JSON"),
    "extra_forbidden": _("this field is not allowed"),
    "enum": _("choose one of %(expected)s"),
    "literal_error": _("choose one of %(expected)s"),
}


def _validation_message(error: dict) -> str:
    ctx = error.get("ctx") or {}
    known = VALIDATION_MESSAGES.get(error.get("type", ""))
    if known is None and "message" in ctx:
        return str(ctx["message"])  # core.schemas.input_error: a validator of ours, already translated
    if error.get("type") == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if not (get_language() or "").startswith("zh"):
        return error.get("msg") or str(_("this value is not valid"))
    if known is None:
        return str(_("this value is not valid"))
    values = {key: str(value).replace("' or '", "'、'").replace("', '", "'、'") for key, value in ctx.items()}
    try:
        return str(known) % values
    except (KeyError, TypeError, ValueError):
        return str(_("this value is not valid"))


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = [
        {"field": _field_path(e.get("loc", ())), "detail": _validation_message(e), "code": e.get("type", "invalid")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": None, "detail": _("invalid request")}
    return _error(request, 422, first["detail"], first["field"] or None, "validation_error", errors=errors)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return _error(request, 401, _("authentication required: send Authorization: Bearer <token>"),
                  code="authentication_required")


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return _error(request, 403, _("permission denied"), code="forbidden")


@api.exception_handler(Http404)
def not_found(request, exc):
    # Django's own messages (get_object_or_404's "No … matches the given query.") are English and name
    # models; the services raise NotFound with a message of their own instead.
    return _error(request, 404, _("not found"), code="not_found")


def unknown_path(request, path: str):
    """Any other path under /api/: a JSON 404 like the API's own, not the site's HTML page."""
    return _error(request, 404, _("no API endpoint at this path"), field="path", code="unknown_path")


# Backstops: a number too large for the database, or a row the services did not foresee, is still
# the client's input, so it answers 4xx rather than 500.
@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request, exc):
    return _error(request, 422, _("a number in the request is out of range"), code="out_of_range")


@api.exception_handler(IntegrityError)
def integrity_error(request, exc: IntegrityError):
    if "datatype mismatch" in str(exc):  # SQLite's word for an integer beyond 64 bits
        return out_of_range(request, exc)
    return _error(request, 409, _("this conflicts with data already stored"), code="conflict")


# ninja's own HttpErrors: a body it cannot parse (400) and a failed CSRF check (403), in English.
HTTP_ERRORS = {
    400: ("bad_request", _("the request body cannot be read; send JSON")),
    403: ("forbidden", _("permission denied")),
    404: ("not_found", _("not found")),
    405: ("method_not_allowed", _("this method is not allowed here")),
    429: ("too_many_requests", _("too many requests; try again later")),
}


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    code, detail = HTTP_ERRORS.get(exc.status_code, ("http_error", _("the request cannot be handled")))
    return _error(request, exc.status_code, detail, code=code)
