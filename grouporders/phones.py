"""Residents' phone numbers: validated, then kept only masked (for display) and hashed (for lookup)."""
import hashlib
import hmac
import re

from django.conf import settings

_SEPARATORS = re.compile(r"[\s\-()]")
_PHONE = re.compile(r"[0-9]{6,15}")


def normalize_phone(raw: str) -> str | None:
    """Digits only, without the +86 / 0086 country prefix; None if it is not a plausible phone number."""
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if _PHONE.fullmatch(digits) else None


def mask_phone(phone: str) -> str:
    """138****5678: enough for a leader to tell residents apart, not enough to call them."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) >= 8 else phone[:2] + "****"


def hash_phone(phone: str) -> str:
    return hmac.new(settings.PHONE_HASH_KEY.encode(), phone.encode(), hashlib.sha256).hexdigest()
