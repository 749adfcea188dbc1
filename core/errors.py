"""Errors that services raise; the API turns each into JSON {"detail", "field", "code"} with its status.

`code` is stable and machine-readable (clients branch on it); `detail` is for people and is translated
into the caller's language (Accept-Language, default zh-hans) where the service marks it with gettext.
"""


class ServiceError(Exception):
    status_code = 400
    default_code = "error"

    def __init__(self, detail: str, field: str | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = str(detail)
        self.field = field
        self.code = code or self.default_code


class InvalidInput(ServiceError):
    status_code = 422
    default_code = "invalid"


class NotFound(ServiceError):
    status_code = 404
    default_code = "not_found"


class Forbidden(ServiceError):
    status_code = 403
    default_code = "forbidden"


class Conflict(ServiceError):
    status_code = 409
    default_code = "conflict"
