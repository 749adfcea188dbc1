"""Template filters for what people read: {{ amount|yuan }}, {{ date|day }}, {{ datetime|day_time }}."""
from django import template

from core import formatting

register = template.Library()
register.filter("yuan", formatting.yuan)
register.filter("day", formatting.day)
register.filter("day_time", formatting.day_time)
