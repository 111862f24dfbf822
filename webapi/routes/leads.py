"""Leads of a campaign: add one or many, list, read, change, move in bulk."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from pydantic import ValidationError

from campaign_analytics import leads
from campaign_analytics.errors import PayloadTooLarge

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation, parse_json, validation_details
from ..responses import ok
from ..schemas.outreach import (
    BulkLeadsRequest,
    BulkLeadsResult,
    BulkStatusRequest,
    BulkStatusResult,
    CreatedItem,
    FailedItem,
    FailedLead,
    LeadChanges,
    LeadFields,
    LeadListQuery,
    LeadOut,
)

bp = workspace_blueprint("leads", __name__)
PREFIX = "/campaigns/<campaign_id>/leads"


@bp.post(PREFIX)
@operation("Add a lead", response=LeadOut, body=LeadFields, status=201, tags=("leads",))
def create(workspace_id: str, campaign_id: str, body: LeadFields) -> Response:
    lead = leads.create_lead(db_session(), workspace_id, campaign_id, body)
    return ok(LeadOut.of(lead), status=201)


def _parse_items(raw: list[Any]) -> tuple[list[tuple[int, LeadFields]], list[FailedItem]]:
    valid: list[tuple[int, LeadFields]] = []
    failed: list[FailedItem] = []
    for index, item in enumerate(raw):
        try:
            valid.append((index, parse_json(LeadFields, json.dumps(item))))
        except ValidationError as exc:
            message = "; ".join(f"{field}: {', '.join(msgs)}"
                                for field, msgs in validation_details(exc).items())
            failed.append(FailedItem(index=index, code="VALIDATION_ERROR", message=message))
    return valid, failed


@bp.post(PREFIX + "/bulk")
@operation(
    f"Add up to {leads.MAX_BULK} leads; each invalid one fails alone", response=BulkLeadsResult,
    body=BulkLeadsRequest, tags=("leads",), errors=("413",),
)
def create_many(workspace_id: str, campaign_id: str, body: BulkLeadsRequest) -> Response:
    if len(body.leads) > leads.MAX_BULK:
        raise PayloadTooLarge(f"At most {leads.MAX_BULK} leads per request, got {len(body.leads)}")
    valid, failed = _parse_items(body.leads)
    created, refused = leads.create_leads(db_session(), workspace_id, campaign_id, valid)
    failed += [FailedItem(index=i, code=code, message=msg) for i, code, msg in refused]
    return ok(BulkLeadsResult(
        created=[CreatedItem(index=i, id=lead_id) for i, lead_id in created],
        failed=sorted(failed, key=lambda item: item.index),
    ))


@bp.get(PREFIX)
@operation("List a campaign's leads, newest first", response=LeadOut, query=LeadListQuery,
           tags=("leads",), paginated=True)
def index(workspace_id: str, campaign_id: str, query: LeadListQuery) -> Response:
    page = leads.list_leads(db_session(), workspace_id, campaign_id, status=query.status,
                            limit=query.limit, cursor=query.cursor)
    return ok([LeadOut.of(lead) for lead in page.items], next_cursor=page.next_cursor)


@bp.get(PREFIX + "/<lead_id>")
@operation("One lead", response=LeadOut, tags=("leads",))
def show(workspace_id: str, campaign_id: str, lead_id: str) -> Response:
    return ok(LeadOut.of(leads.get_lead(db_session(), workspace_id, campaign_id, lead_id)))


@bp.patch(PREFIX + "/<lead_id>")
@operation("Change a lead; status moves follow the lifecycle", response=LeadOut,
           body=LeadChanges, tags=("leads",), errors=("409",))
def change(workspace_id: str, campaign_id: str, lead_id: str, body: LeadChanges) -> Response:
    lead = leads.update_lead(db_session(), workspace_id, campaign_id, lead_id, body)
    return ok(LeadOut.of(lead))


@bp.post(PREFIX + "/bulk-status")
@operation("Move many leads to one status; partial success is normal",
           response=BulkStatusResult, body=BulkStatusRequest, tags=("leads",))
def change_many(workspace_id: str, campaign_id: str, body: BulkStatusRequest) -> Response:
    updated, failed = leads.bulk_change_status(
        db_session(), workspace_id, campaign_id, body.lead_ids, body.status
    )
    return ok(BulkStatusResult(
        updated=updated,
        failed=[FailedLead(lead_id=i, code=code, message=msg) for i, code, msg in failed],
    ))
