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
import procurement.api
import routing.api
import warehouse.api
from core.auth import api_auth

from . import pipeline_api
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
api.add_router("/", pipeline_api.router)


def _error(request, status: int, detail, field: str | None = None, code: str = "error", **extra):
    return api.create_response(request, {"detail": str(detail), "field": field, "code": code, **extra}, status=status)


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):
    return _error(request, exc.status_code, exc.detail, exc.field, exc.code)


def _field_path(loc) -> str:
    # ("body", "payload", "lines", 0, "quantity") -> "lines.0.quantity"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts)


# Pydantic's messages are English; the common ones are said again in the caller's language.
VALIDATION_MESSAGES = {
    "missing": _("this field is required"),
    "int_parsing": _("enter a whole number"),
    "int_type": _("enter a whole number"),
    "float_parsing": _("enter a number"),
    "decimal_parsing": _("enter a number"),
    "bool_parsing": _("enter true or false"),
    "date_from_datetime_parsing": _("enter a date as YYYY-MM-DD"),
    "date_parsing": _("enter a date as YYYY-MM-DD"),
    "datetime_parsing": _("enter a date and time in ISO 8601"),
    "datetime_from_date_parsing": _("enter a date and time in ISO 8601"),
    "string_type": _("enter text"),
    "string_too_short": _("this text is too short"),
    "string_too_long": _("this text is too long"),
    "greater_than": _("the value is too small"),
    "greater_than_equal": _("the value is too small"),
    "less_than": _("the value is too large"),
    "less_than_equal": _("the value is too large"),
    "list_type": _("enter a list"),
    "too_short": _("the list is too short"),
    "too_long": _("the list is too long"),
    "json_invalid": _("the request body is not valid JSON"),
    "extra_forbidden": _("this field is not allowed"),
    "enum": _("choose one of the allowed values"),
    "literal_error": _("choose one of the allowed values"),
}


def _validation_message(error: dict) -> str:
    known = VALIDATION_MESSAGES.get(error.get("type", ""))
    if known is not None and (get_language() or "").startswith("zh"):
        return str(known)
    return error.get("msg", str(known or _("invalid")))


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
    return _error(request, 403, str(exc) or _("permission denied"), code="forbidden")


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, str(exc) or _("not found"), code="not_found")


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


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc), code="http_error")
