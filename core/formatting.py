"""How people read money, days and times: ¥12.50, 12月5日 周六 08:30 (English: Sat 5 Dec 08:30).

Pages (through the `formatting` template filters), documents and the simulator's report share these, so
a pick list and the page it came from say the same thing the same way. The API keeps ISO formats.
"""
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import get_language

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def yuan(amount) -> str:
    """¥ with two decimals and thousands separators; negative amounts as -¥3.00; '' for None."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def day(value: date | datetime | None) -> str:
    """12月5日 周六 (English: Sat 5 Dec); a datetime is taken in the local time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if _chinese():
        return f"{value.month}月{value.day}日 {WEEKDAYS_ZH[value.weekday()]}"
    return f"{WEEKDAYS_EN[value.weekday()]} {value.day} {MONTHS_EN[value.month - 1]}"


def day_time(value: datetime | None) -> str:
    """12月5日 周六 08:30 (English: Sat 5 Dec 08:30), in the local time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{day(local.date())} {local:%H:%M}"


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def person_name(first_name: str, last_name: str, username: str = "") -> str:
    """王丽 (surname first, no space) for Chinese names, 'Ann Lee' otherwise; the username when both are empty."""
    if _has_cjk(first_name + last_name):
        return f"{last_name}{first_name}".strip()
    return f"{first_name} {last_name}".strip() or username
