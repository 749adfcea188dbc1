from django.core.management.base import BaseCommand, CommandError

from warehouse.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Prove that every lot's balance equals the sum of its ledger moves."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stderr.write(f"lot {m.lot_id}: balance {m.lot_quantity}, ledger {m.ledger_quantity}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} lots disagree with the ledger")
        self.stdout.write(self.style.SUCCESS("every lot balance agrees with the ledger"))
