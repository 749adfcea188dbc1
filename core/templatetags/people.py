"""{{ user|person }}: a user as people read the name (王丽 surname first for Chinese names, else 'Ann Lee', else the username)."""
from django import template

from core.formatting import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return person_name(user.first_name, user.last_name, user.get_username())
