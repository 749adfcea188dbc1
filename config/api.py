"""The one NinjaAPI: mounts every app's router and turns errors into {"detail", "field"} JSON."""
from django.core.exceptions import PermissionDenied
from django.db import DataError, IntegrityError
from django.http import Http404
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
    'Errors answer {"detail": …, "field": …}.',
)
api.add_router("/", catalog.api.router)
api.add_router("/", grouporders.api.router)
api.add_router("/", warehouse.api.router)
api.add_router("/", procurement.api.router)
api.add_router("/", routing.api.router)
api.add_router("/", pickup.api.router)
api.add_router("/", pipeline_api.router)


def _error(request, status: int, detail: str, field: str | None = None, **extra):
    return api.create_response(request, {"detail": detail, "field": field, **extra}, status=status)


@api.exception_handler(ServiceError)
def service_error(request, exc: ServiceError):
    return _error(request, exc.status_code, exc.detail, exc.field)


def _field_path(loc) -> str:
    # ("body", "payload", "lines", 0, "quantity") -> "lines.0.quantity"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = [{"field": _field_path(e.get("loc", ())), "detail": e.get("msg", "invalid")} for e in exc.errors]
    first = errors[0] if errors else {"field": None, "detail": "invalid request"}
    return _error(request, 422, first["detail"], first["field"] or None, errors=errors)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return _error(request, 401, "authentication required: send Authorization: Bearer <token>")


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return _error(request, 403, str(exc) or "permission denied")


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, str(exc) or "not found")


# Backstops: a number too large for the database, or a row the services did not foresee, is still
# the client's input, so it answers 4xx rather than 500.
@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request, exc):
    return _error(request, 422, "a number in the request is out of range")


@api.exception_handler(IntegrityError)
def integrity_error(request, exc: IntegrityError):
    if "datatype mismatch" in str(exc):  # SQLite's word for an integer beyond 64 bits
        return out_of_range(request, exc)
    return _error(request, 409, "this conflicts with data already stored")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))
