"""Small helpers the API layers share."""
from django.http import HttpResponse, JsonResponse

from .services import request_fingerprint, run_idempotent


def idempotent(request, action) -> JsonResponse:
    """Run a write once per Idempotency-Key header value; retries get the first answer back.

    `action` returns (status, JSON-ready body); the body is sent as stored, byte for byte on a retry.
    """
    status, body = run_idempotent(
        user=request.auth,
        key=request.headers.get("Idempotency-Key"),
        fingerprint=request_fingerprint(request.method, request.path, request.body),
        action=action,
    )
    return JsonResponse(body, status=status, safe=False)


DOCUMENT_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def document(content, filename: str, *, attachment: bool = False) -> HttpResponse:
    """A CSV or PDF response; PDFs open in the browser to print, `attachment` saves instead."""
    disposition = "attachment" if attachment else "inline"
    return HttpResponse(
        content, content_type=DOCUMENT_TYPES[filename.rsplit(".", 1)[-1]],
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
