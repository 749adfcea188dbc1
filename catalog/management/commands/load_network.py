"""Import warehouses, depots, pickup points and products from a CSV, JSON or JSON Lines file."""
from django.core.management.base import BaseCommand, CommandError

from catalog import services
from core.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Create or update warehouses, depots, pickup points and products from FILE (.csv, .json or .jsonl). "
        "Every row names its kind; rows are matched by code (sku for products). If any row is bad, every "
        "problem is listed by line and nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the network file, e.g. examples/network.json")

    def handle(self, *args, file, **options):
        try:
            report = services.load_network(file)
        except services.NetworkFileInvalid as error:
            for row_error in error.errors:
                self.stderr.write(str(row_error))
            raise CommandError(error.detail) from error
        except InvalidInput as error:
            raise CommandError(error.detail) from error
        for kind, counts in report.counts.items():
            self.stdout.write(
                f"{kind}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
            )
