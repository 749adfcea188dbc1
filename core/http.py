"""Small helpers the API layers share."""
from .services import request_fingerprint, run_idempotent


def idempotent(request, action) -> tuple[int, object]:
    """Run a write once per Idempotency-Key header value; retries get the first answer back."""
    return run_idempotent(
        user=request.auth,
        key=request.headers.get("Idempotency-Key"),
        fingerprint=request_fingerprint(request.method, request.path, request.body),
        action=action,
    )
