from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import PickupPoint, Product
from grouporders.models import GroupLeader, OrderLine, Resident


class Receipt(models.Model):
    """The leader's count of one product delivered to their point for a day, against the manifest."""

    delivery_date = models.DateField(_("delivery day"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("pickup point")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    expected_quantity = models.PositiveIntegerField(
        _("expected quantity"), help_text=_("What the warehouse allocated to the point.")
    )
    received_quantity = models.PositiveIntegerField(_("received quantity"), help_text=_("What the leader counted."))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "product_id"]
        verbose_name = _("point receipt")
        verbose_name_plural = _("point receipts")
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "pickup_point", "product"], name="one_receipt_per_day_point_product"),
        ]

    def __str__(self) -> str:
        return gettext("receipt %(day)s point %(point)s product %(product)s") % {
            "day": self.delivery_date, "point": self.pickup_point_id, "product": self.product_id,
        }

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
    order_line = models.OneToOneField(
        OrderLine, on_delete=models.PROTECT, related_name="pickup", db_constraint=False, verbose_name=_("order line")
    )
    delivery_date = models.DateField(_("delivery day"))
    # Copies of the order line's own references, for queries by point, leader, resident and product.
    # Indexed only where looked up without the day (the resident, for privacy requests): index entries
    # were, with the foreign-key checks, most of the cost of writing a large city's million lines.
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False,
        verbose_name=_("pickup point"),
    )
    leader = models.ForeignKey(
        GroupLeader, on_delete=models.PROTECT, related_name="pickup_lines", db_constraint=False, db_index=False,
        verbose_name=_("group leader"),
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="pickup_lines", db_constraint=False, verbose_name=_("resident")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False, verbose_name=_("product")
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    ordered_quantity = models.PositiveIntegerField(_("ordered quantity"))
    shortage_quantity = models.PositiveIntegerField(
        _("shortage quantity"), help_text=_("Cut by the warehouse for lack of stock.")
    )
    missing_quantity = models.PositiveIntegerField(
        _("missing quantity"), default=0, help_text=_("Not delivered to the point (receipt claims).")
    )
    collected_quantity = models.PositiveIntegerField(_("collected quantity"), default=0)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True, help_text=_("The last collection."))
    returned_quantity = models.PositiveIntegerField(_("returned quantity"), default=0)
    return_disposition = models.CharField(
        _("return disposition"), max_length=12, choices=Disposition.choices, blank=True
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        ordering = ["delivery_date", "pickup_point_id", "resident_id", "id"]
        verbose_name = _("pickup line")
        verbose_name_plural = _("pickup lines")
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
        return gettext("pickup line %(id)s") % {"id": self.order_line_id}

    @property
    def collectable_quantity(self) -> int:
        """What is still at the point for the resident."""
        return (
            self.ordered_quantity - self.shortage_quantity - self.missing_quantity - self.collected_quantity - self.returned_quantity
        )


class Collection(models.Model):
    """One hand-over at the point, after the resident's pickup code was verified."""

    pickup_line = models.ForeignKey(
        PickupLine, on_delete=models.PROTECT, related_name="collections", verbose_name=_("pickup line")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("handed over by")
    )
    collected_at = models.DateTimeField(_("collected at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("collection")
        verbose_name_plural = _("collections")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="collection_quantity_positive")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class PickupCode(models.Model):
    """A resident's pickup code for a delivery day. Only a keyed hash is stored; the code is shown once."""

    delivery_date = models.DateField(_("delivery day"))
    # A day's codes are written in one COPY for the residents read in the same transaction; Django's
    # collector still cascades. No per-row database check: it ran at COMMIT and took longer than the COPY.
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="pickup_codes", db_constraint=False, verbose_name=_("resident")
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("pickup code")
        verbose_name_plural = _("pickup codes")
        constraints = [
            models.UniqueConstraint(fields=["delivery_date", "resident"], name="one_pickup_code_per_resident_day"),
            models.UniqueConstraint(fields=["delivery_date", "code_hash"], name="pickup_codes_unique_per_day"),
        ]

    def __str__(self) -> str:
        return gettext("code of resident %(resident)s for %(day)s") % {"resident": self.resident_id, "day": self.delivery_date}


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

    pickup_line = models.ForeignKey(PickupLine, on_delete=models.PROTECT, related_name="claims", verbose_name=_("pickup line"))
    kind = models.CharField(_("kind"), max_length=12, choices=ClaimKind.choices)
    source = models.CharField(_("source"), max_length=8, choices=ClaimSource.choices, default=ClaimSource.RESIDENT)
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=500)
    photo_ref = models.CharField(
        _("photo"), max_length=300, blank=True, help_text=_("Where the photo is kept (URL or file key).")
    )
    status = models.CharField(_("status"), max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("filed by")
    )
    filed_at = models.DateTimeField(_("filed at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("after-sales claim")
        verbose_name_plural = _("after-sales claims")
        indexes = [models.Index(fields=["status", "filed_at"], name="claim_status_filed")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="claim_quantity_positive")]

    def __str__(self) -> str:
        return gettext("claim %(id)s (%(kind)s, %(status)s)") % {
            "id": self.pk, "kind": self.get_kind_display(), "status": self.get_status_display(),
        }


class RefundCause(models.TextChoices):
    SHORTAGE = "shortage", _("Shortage")
    UNCOLLECTED = "uncollected", _("Uncollected")
    CLAIM = "claim", _("After-sales claim")


class Refund(models.Model):
    """Money owed back to a resident for part of a line, with its cause and who decided it, when and why."""

    cause = models.CharField(_("cause"), max_length=12, choices=RefundCause.choices)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order line"))
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("resident"))
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    claim = models.OneToOneField(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="refund", verbose_name=_("after-sales claim")
    )
    reason = models.CharField(_("reason"), max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("created by"), help_text=_("Empty when the system refunded on its own (shortage, uncollected)."),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("refund")
        verbose_name_plural = pgettext_lazy("model", "refunds")
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
        return gettext("refund %(id)s %(cause)s %(amount)s") % {
            "id": self.pk, "cause": self.get_cause_display(), "amount": self.amount,
        }


class HeadLeaderLink(models.Model):
    """A leader's one upstream head leader, who may earn a capped bonus on the leader's sales.

    One row per leader at most, and the bonus is only ever paid to the direct head: commission is
    earned on real sales, never on recruiting chains.
    """

    leader = models.OneToOneField(
        GroupLeader, on_delete=models.CASCADE, related_name="head_link", verbose_name=_("group leader")
    )
    head_leader = models.ForeignKey(
        GroupLeader, on_delete=models.PROTECT, related_name="recruits", verbose_name=_("head leader"),
        help_text=_("May earn a capped bonus on the leader's sales; never on recruiting."),
    )

    class Meta:
        verbose_name = _("head leader link")
        verbose_name_plural = _("head leader links")
        constraints = [models.CheckConstraint(condition=~Q(leader=F("head_leader")), name="head_leader_is_someone_else")]

    def __str__(self) -> str:
        return gettext("%(leader)s → head leader %(head)s") % {"leader": self.leader, "head": self.head_leader}


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

    kind = models.CharField(_("kind"), max_length=8, choices=EntryKind.choices)
    beneficiary = models.CharField(_("beneficiary"), max_length=12, choices=Beneficiary.choices)
    leader = models.ForeignKey(
        GroupLeader, on_delete=models.PROTECT, related_name="commission_entries", verbose_name=_("group leader"),
        help_text=_("Who is paid."),
    )
    pickup_line = models.ForeignKey(
        PickupLine, on_delete=models.PROTECT, related_name="commission_entries", verbose_name=_("pickup line")
    )
    quantity = models.IntegerField(
        _("quantity"), help_text=_("Collected, unrefunded units the amount is based on (clawbacks: the change).")
    )
    revenue = models.DecimalField(_("revenue"), max_digits=12, decimal_places=2)
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4, help_text=_("0.1000 = 10 %"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    earned_at = models.DateTimeField(
        _("earned at"), help_text=_("The collection it rests on; its month picks the tier bracket.")
    )
    due_at = models.DateTimeField(
        _("due at"), null=True, blank=True, help_text=_("Accruals settle from then on if no claim is open.")
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission entries")
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
        return gettext("%(kind)s %(amount)s to %(leader)s") % {
            "kind": self.get_kind_display(), "amount": self.amount, "leader": self.leader,
        }
