from datetime import date

from ninja import Router, Status
from ninja.pagination import paginate

from core.auth import require_role
from core.schemas import Text
from core.http import document, idempotent
from core.models import Role
from core.pagination import Page
from grouporders import selectors as order_selectors

from . import documents, selectors, services
from .schemas import (
    ClaimIn,
    ClaimOut,
    CollectIn,
    CollectOut,
    ConsentIn,
    DayIn,
    DecisionIn,
    IssuedCodeOut,
    ManifestOut,
    ReceiptIn,
    ReceiptOut,
    RefundOut,
    ReissueIn,
    ResidentPrivacyOut,
    ReturnSummaryOut,
    SettlementOut,
    ShortageRefundsOut,
)

router = Router(tags=["pickup"])

AT_THE_POINT = (Role.LEADER, Role.OPERATOR)


# --- receipt at the point ---


@router.get("/pickup/manifest", response=ManifestOut, summary="What the point should receive and hand out on a day")
def manifest(request, delivery_date: date, pickup_point_id: int):
    require_role(request, *AT_THE_POINT)
    point = selectors.visible_point(request.auth, pickup_point_id)
    return {
        "delivery_date": delivery_date,
        "pickup_point_id": point.pk,
        "products": selectors.manifest(delivery_date, point.pk),
        "lines": selectors.point_lines(delivery_date, point.pk),
    }


@router.post("/pickup/receipts", response={201: list[ReceiptOut]}, summary="Confirm what the driver delivered")
def confirm_receipt(request, payload: ReceiptIn):
    """Per product; anything short of the manifest opens 'missing' claims on the residents' lines."""
    require_role(request, *AT_THE_POINT)
    receipts = services.confirm_receipt(
        user=request.auth,
        delivery_date=payload.delivery_date,
        pickup_point_id=payload.pickup_point_id,
        counts=[services.ReceivedCount(line.product_id, line.received_quantity) for line in payload.lines],
    )
    return Status(201, receipts)


@router.get("/pickup/receipts", response=list[ReceiptOut])
def list_receipts(request, delivery_date: date, pickup_point_id: int):
    require_role(request, *AT_THE_POINT)
    return selectors.receipts(delivery_date, selectors.visible_point(request.auth, pickup_point_id).pk)


# --- pickup codes and collection ---


@router.post("/pickup/codes/issue", response=list[IssuedCodeOut], summary="Issue the day's pickup codes (shown once)")
def issue_codes(request, payload: DayIn):
    """New codes only: residents who already have a code for the day are skipped. Only hashes are kept."""
    require_role(request, Role.OPERATOR)
    return services.issue_pickup_codes(delivery_date=payload.delivery_date)


@router.post("/pickup/codes/reissue", response=IssuedCodeOut, summary="Replace a resident's lost code")
def reissue_code(request, payload: ReissueIn):
    require_role(request, Role.OPERATOR)
    return services.reissue_pickup_code(delivery_date=payload.delivery_date, resident_id=payload.resident_id)


@router.post("/pickup/collect", response=CollectOut, summary="Verify a pickup code and hand over the goods")
def collect(request, payload: CollectIn):
    """Send an Idempotency-Key: a retry after a lost answer gets the first answer and hands nothing over twice."""
    require_role(request, *AT_THE_POINT)

    def action():
        result = services.collect_with_code(
            user=request.auth,
            delivery_date=payload.delivery_date,
            pickup_point_id=payload.pickup_point_id,
            code=payload.code,
            quantities=None if payload.lines is None else {line.order_line_id: line.quantity for line in payload.lines},
        )
        body = CollectOut(
            resident_id=result.resident.pk,
            resident_name=result.resident.name,
            resident_phone=result.resident.phone_masked,
            lines=[
                {
                    "order_line_id": line.order_line_id,
                    "product": line.product.name,
                    "collected_now": result.collected.get(line.order_line_id, 0),
                    "collected_quantity": line.collected_quantity,
                    "collectable_quantity": line.collectable_quantity,
                }
                for line in result.lines
            ],
        )
        return 200, body.model_dump(mode="json")

    return idempotent(request, action)


# --- claims and refunds ---


@router.post("/pickup/claims", response={201: ClaimOut}, summary="File a resident's claim on collected goods")
def file_claim(request, payload: ClaimIn):
    require_role(request, *AT_THE_POINT)
    return Status(201, services.file_claim(user=request.auth, **payload.dict()))


@router.get("/pickup/claims", response=list[ClaimOut])
@paginate(Page)
def list_claims(request, status: Text | None = None):
    require_role(request, *AT_THE_POINT)
    return selectors.claims_visible_to(request.auth, status)


@router.post("/pickup/claims/{claim_id}/approve", response=ClaimOut, summary="Approve: the exact amount is refunded")
def approve_claim(request, claim_id: int, payload: DecisionIn):
    require_role(request, Role.OPERATOR)
    return services.decide_claim(user=request.auth, claim_id=claim_id, approve=True, note=payload.note)


@router.post("/pickup/claims/{claim_id}/reject", response=ClaimOut)
def reject_claim(request, claim_id: int, payload: DecisionIn):
    require_role(request, Role.OPERATOR)
    return services.decide_claim(user=request.auth, claim_id=claim_id, approve=False, note=payload.note)


@router.get("/pickup/refunds", response=list[RefundOut])
@paginate(Page)
def list_refunds(request, delivery_date: date | None = None, resident_id: int | None = None):
    require_role(request, *AT_THE_POINT)
    return selectors.refunds_visible_to(request.auth, delivery_date=delivery_date, resident_id=resident_id)


@router.post("/pickup/refunds/shortages", response=ShortageRefundsOut, summary="Refund the day's shortages (idempotent)")
def refund_shortages(request, payload: DayIn):
    require_role(request, Role.OPERATOR)
    return {"refunds": services.record_shortage_refunds(delivery_date=payload.delivery_date)}


@router.post("/pickup/returns/run", response=ReturnSummaryOut, summary="Return and refund uncollected goods now")
def run_returns(request):
    """What the daily task does; safe to repeat."""
    require_role(request, Role.OPERATOR)
    return services.return_uncollected()


# --- commission ---


@router.post("/pickup/commission/settle", response=SettlementOut, summary="Settle due commission now")
def settle(request):
    """What the daily task does; safe to repeat."""
    require_role(request, Role.OPERATOR)
    return {"settled": services.settle_commissions()}



def _statement(request, start: date, end: date, leader_id: int | None):
    require_role(request, *AT_THE_POINT)
    return selectors.statement(selectors.visible_leader(request.auth, leader_id), start, end)


@router.get("/pickup/statements", response=selectors.Statement, summary="A leader's commission statement for a period")
def statement(request, start: date, end: date, leader_id: int | None = None):
    """Leaders get their own; operators pass leader_id."""
    return _statement(request, start, end, leader_id)


@router.get("/pickup/statements.csv", response={200: None})
def statement_csv(request, start: date, end: date, leader_id: int | None = None):
    found = _statement(request, start, end, leader_id)
    return document(documents.statement_csv(found), documents.statement_filename(found, "csv"), attachment=True)


@router.get("/pickup/statements.pdf", response={200: None})
def statement_pdf(request, start: date, end: date, leader_id: int | None = None):
    found = _statement(request, start, end, leader_id)
    return document(documents.statement_pdf(found), documents.statement_filename(found, "pdf"), attachment=True)


# --- residents' privacy ---


@router.get("/pickup/residents/lookup", response=ResidentPrivacyOut, summary="Find a resident by full phone number")
def find_resident(request, phone: Text):
    require_role(request, Role.OPERATOR)
    return order_selectors.resident_by_phone(phone)


@router.get("/pickup/residents/{resident_id}/export", summary="Everything stored about a resident (JSON)")
def export_resident(request, resident_id: int):
    require_role(request, Role.OPERATOR)
    return selectors.resident_export(resident_id)


@router.post("/pickup/residents/{resident_id}/erase", response=ResidentPrivacyOut, summary="Anonymise a resident, keep amounts")
def erase_resident(request, resident_id: int):
    require_role(request, Role.OPERATOR)
    return services.erase_resident(resident_id=resident_id)


@router.post("/pickup/residents/{resident_id}/consent", response=ResidentPrivacyOut, summary="Record consent and its wording")
def record_consent(request, resident_id: int, payload: ConsentIn):
    require_role(request, *AT_THE_POINT)
    return services.record_consent(
        user=request.auth, resident_id=resident_id, consent=payload.consent, wording_version=payload.wording_version
    )
