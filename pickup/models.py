from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.db.models import F, Q

from catalog.models import PickupPoint, Product
from grouporders.models import GroupLeader, OrderLine, Resident


class Receipt(models.Model):
    """The leader's count of one product delivered to their point for a day, against the manifest."""

    delivery_date = models.DateField()
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, related_name="receipts")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.PositiveIntegerField(help_text="What the warehouse allocated to the point.")
    received_quantity = models.PositiveIntegerField()
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField()

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "pickup_point", "product"], name="one_receipt_per_day_point_product"),
        ]

    def __str__(self) -> str:
        return f"receipt {self.delivery_date} {self.pickup_point_id} {self.product_id}"

    @property
    def difference(self) -> int:
        """Negative: missing (claims were opened); positive: more than the manifest said."""
        return self.received_quantity - self.expected_quantity


class Disposition(models.TextChoices):
    RESTOCKED = "restocked", _("Restocked")
    WRITTEN_OFF = "written_off", _("Written off")


class PickupLine(models.Model):
    """A resident's order line as it stands at the pickup point: what can be handed out, what was.

    Created from the order line and its shortage the first time the point's day is touched; the
    check constraint keeps every unit in exactly one state.
    """

    # Pickup lines are only ever written by one INSERT … SELECT from the order lines themselves, so each
    # reference is right by construction, and Django's PROTECT keeps an order line with a pickup line
    # from being deleted. The database does not check them again row by row: its deferred foreign-key
    # checks ran at COMMIT, one index probe and row lock per line, and took 10 s of a large city's day.
    order_line = models.OneToOneField(OrderLine, on_delete=models.PROTECT, related_name="pickup", db_constraint=False)
    delivery_date = models.DateField()
    # Copies of the order line's own references, for queries by point, leader, resident and product.
    # Indexed only where looked up without the day (the resident, for privacy requests): index entries
    # were, with the foreign-key checks, most of the cost of writing a large city's million lines.
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    leader = models.ForeignKey(
        GroupLeader, on_delete=models.PROTECT, related_name="pickup_lines", db_constraint=False, db_index=False
    )
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="pickup_lines", db_constraint=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    ordered_quantity = models.PositiveIntegerField()
    shortage_quantity = models.PositiveIntegerField(help_text="Cut by the warehouse for lack of stock.")
    missing_quantity = models.PositiveIntegerField(default=0, help_text="Not delivered to the point (receipt claims).")
    collected_quantity = models.PositiveIntegerField(default=0)
    collected_at = models.DateTimeField(null=True, blank=True, help_text="The last collection.")
    returned_quantity = models.PositiveIntegerField(default=0)
    return_disposition = models.CharField(max_length=12, choices=Disposition.choices, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "resident_id", "id"]
        indexes = [models.Index(fields=["delivery_date", "pickup_point", "resident"], name="pickup_line_day_point_res")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    ordered_quantity__gte=F("shortage_quantity") + F("missing_quantity") + F("collected_quantity") + F("returned_quantity")
                ),
                name="pickup_line_units_accounted_once",
            ),
        ]

    def __str__(self) -> str:
        return f"pickup line {self.order_line_id}"

    @property
    def collectable_quantity(self) -> int:
        """What is still at the point for the resident."""
        return (
            self.ordered_quantity - self.shortage_quantity - self.missing_quantity - self.collected_quantity - self.returned_quantity
        )


class Collection(models.Model):
    """One hand-over at the point, after the resident's pickup code was verified."""

    pickup_line = models.ForeignKey(PickupLine, on_delete=models.PROTECT, related_name="collections")
    quantity = models.PositiveIntegerField()
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="collection_quantity_positive")]


class PickupCode(models.Model):
    """A resident's pickup code for a delivery day. Only a keyed hash is stored; the code is shown once."""

    delivery_date = models.DateField()
    # A day's codes are written in one COPY for the residents read in the same transaction; Django's
    # collector still cascades. No per-row database check: it ran at COMMIT and took longer than the COPY.
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="pickup_codes", db_constraint=False)
    code_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "resident"], name="one_pickup_code_per_resident_day"),
            models.UniqueConstraint(fields=["delivery_date", "code_hash"], name="pickup_codes_unique_per_day"),
        ]

    def __str__(self) -> str:
        return f"code of resident {self.resident_id} for {self.delivery_date}"


class ClaimKind(models.TextChoices):
    MISSING = "missing", _("Missing")
    DAMAGED = "damaged", _("Damaged")
    QUALITY = "quality", _("Quality problem")
    WRONG_ITEM = "wrong_item", _("Wrong item")


class ClaimSource(models.TextChoices):
    RESIDENT = "resident", _("filed after collection")
    RECEIPT = "receipt", _("opened by a receipt difference")


class ClaimStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Claim(models.Model):
    """An after-sales claim on a resident's line; operators approve (the exact amount is refunded) or reject."""

    pickup_line = models.ForeignKey(PickupLine, on_delete=models.PROTECT, related_name="claims")
    kind = models.CharField(max_length=12, choices=ClaimKind.choices)
    source = models.CharField(max_length=8, choices=ClaimSource.choices, default=ClaimSource.RESIDENT)
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    photo_ref = models.CharField(max_length=300, blank=True, help_text="Where the photo is kept (URL or file key).")
    status = models.CharField(max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        indexes = [models.Index(fields=["status", "filed_at"], name="claim_status_filed")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="claim_quantity_positive")]

    def __str__(self) -> str:
        return f"claim {self.pk} ({self.kind}, {self.status})"


class RefundCause(models.TextChoices):
    SHORTAGE = "shortage", _("Shortage")
    UNCOLLECTED = "uncollected", _("Uncollected")
    CLAIM = "claim", _("After-sales claim")


class Refund(models.Model):
    """Money owed back to a resident for part of a line, with its cause and who decided it, when and why."""

    cause = models.CharField(max_length=12, choices=RefundCause.choices)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refunds")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="refunds")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    claim = models.OneToOneField(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="refund")
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Empty when the system refunded on its own (shortage, uncollected).",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_quantity_positive"),
            # One refund per line for the automatic causes, so the daily jobs can be rerun safely.
            models.UniqueConstraint(fields=["order_line", "cause"], condition=~Q(cause="claim"), name="one_automatic_refund_per_line_cause"),
            models.CheckConstraint(
                condition=Q(cause="claim", claim__isnull=False) | (~Q(cause="claim") & Q(claim__isnull=True)),
                name="refund_claim_iff_cause_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.cause} {self.amount}"


class HeadLeaderLink(models.Model):
    """A leader's one upstream head leader, who may earn a capped bonus on the leader's sales.

    One row per leader at most, and the bonus is only ever paid to the direct head: commission is
    earned on real sales, never on recruiting chains.
    """

    leader = models.OneToOneField(GroupLeader, on_delete=models.CASCADE, related_name="head_link")
    head_leader = models.ForeignKey(GroupLeader, on_delete=models.PROTECT, related_name="recruits")

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(leader=F("head_leader")), name="head_leader_is_someone_else")]

    def __str__(self) -> str:
        return f"{self.leader} → head {self.head_leader}"


class Beneficiary(models.TextChoices):
    LEADER = "leader", _("the selling leader")
    HEAD_LEADER = "head_leader", _("the selling leader's head leader")


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    CLAWBACK = "clawback", _("Clawback")


class CommissionEntry(models.Model):
    """The commission ledger. An accrual per line and beneficiary follows the line's collected,
    unrefunded revenue until it settles; after that, refunds add negative clawback entries.
    """

    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    beneficiary = models.CharField(max_length=12, choices=Beneficiary.choices)
    leader = models.ForeignKey(GroupLeader, on_delete=models.PROTECT, related_name="commission_entries", help_text="Who is paid.")
    pickup_line = models.ForeignKey(PickupLine, on_delete=models.PROTECT, related_name="commission_entries")
    quantity = models.IntegerField(help_text="Collected, unrefunded units the amount is based on (clawbacks: the change).")
    revenue = models.DecimalField(max_digits=12, decimal_places=2)
    rate = models.DecimalField(max_digits=5, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    earned_at = models.DateTimeField(help_text="The collection it rests on; its month picks the tier bracket.")
    due_at = models.DateTimeField(null=True, blank=True, help_text="Accruals settle from then on if no claim is open.")
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["leader", "earned_at"], name="commission_leader_earned"),
            models.Index(fields=["settled_at", "due_at"], name="commission_settlement"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["pickup_line", "beneficiary"], condition=Q(kind="accrual"), name="one_accrual_per_line_beneficiary"
            ),
            models.CheckConstraint(
                condition=Q(kind="accrual", amount__gte=0) | Q(kind="clawback", amount__lt=0), name="commission_sign_by_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} to {self.leader}"
