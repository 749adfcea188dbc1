"""The residents' phones, for the simulator: a PICKUP_CODE_SENDER that keeps the plain codes it is handed.

issue_pickup_codes returns each plain code only once and the pipeline's notify step keeps only their
count, as it should; the sender hook is where a real SMS gateway gets them, so the simulator plugs
its inbox in there (simulation/runner.py points the setting here while it runs).
"""
from collections import defaultdict
from datetime import date

from pickup.services import IssuedCode

SENDER = "simulation.codes.deliver"

# delivery day -> resident id -> plain code; the simulator empties a day once its residents came by.
INBOX: dict[date, dict[int, str]] = defaultdict(dict)


def deliver(issued: list[IssuedCode]) -> None:
    for code in issued:
        INBOX[code.delivery_date][code.resident_id] = code.code
