"""`manage.py create_token USERNAME [--name NAME]`: issue an API bearer token and print it once."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.services import issue_token


class Command(BaseCommand):
    help = "Issue a bearer token for an existing user. The token is printed once and only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to tell the user's tokens apart (default: cli)")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        raw, token = issue_token(user=user, name=name)
        self.stderr.write(f"Token {token.prefix}… ({name}) for {username}; send it as 'Authorization: Bearer <token>':")
        self.stdout.write(raw)
