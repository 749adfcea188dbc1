"""Errors that services raise; the API turns each into JSON {"detail", "field"} with its status."""


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(ServiceError):
    status_code = 422


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409
