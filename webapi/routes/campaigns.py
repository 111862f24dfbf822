"""Campaigns: create, list with lead counts, read, change, delete."""

from __future__ import annotations

from flask import Response, current_app

from campaign_analytics import campaigns

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.common import PageQuery
from ..schemas.outreach import CampaignChanges, CampaignDeleted, CampaignFields, CampaignOut

bp = workspace_blueprint("campaigns", __name__)


def _out(campaign: campaigns.Campaign) -> CampaignOut:
    counts = campaigns.lead_counts(db_session(), campaign.workspace_id, [campaign.id])
    return CampaignOut.of(campaign, counts[campaign.id])


@bp.post("/campaigns")
@operation("Create a campaign", response=CampaignOut, body=CampaignFields, status=201,
           tags=("campaigns",))
def create(workspace_id: str, body: CampaignFields) -> Response:
    return ok(_out(campaigns.create_campaign(db_session(), workspace_id, body)), status=201)


@bp.get("/campaigns")
@operation("List campaigns with lead counts by status, newest first", response=CampaignOut,
           query=PageQuery, tags=("campaigns",), paginated=True)
def index(workspace_id: str, query: PageQuery) -> Response:
    session = db_session()
    page = campaigns.list_campaigns(session, workspace_id, limit=query.limit, cursor=query.cursor)
    counts = campaigns.lead_counts(session, workspace_id, [c.id for c in page.items])
    return ok([CampaignOut.of(c, counts[c.id]) for c in page.items],
              next_cursor=page.next_cursor)


@bp.get("/campaigns/<campaign_id>")
@operation("One campaign", response=CampaignOut, tags=("campaigns",))
def show(workspace_id: str, campaign_id: str) -> Response:
    return ok(_out(campaigns.get_campaign(db_session(), workspace_id, campaign_id)))


@bp.patch("/campaigns/<campaign_id>")
@operation("Change name, description, keywords or status", response=CampaignOut,
           body=CampaignChanges, tags=("campaigns",))
def change(workspace_id: str, campaign_id: str, body: CampaignChanges) -> Response:
    return ok(_out(campaigns.update_campaign(db_session(), workspace_id, campaign_id, body)))


@bp.delete("/campaigns/<campaign_id>")
@operation(
    "Delete a campaign and everything in it (irreversible)", response=CampaignDeleted,
    tags=("campaigns",),
    description="The campaign disappears at once; its leads, messages, events and replies "
                "are purged by a background job (see purge_job_id).",
)
def destroy(workspace_id: str, campaign_id: str) -> Response:
    job_id = campaigns.delete_campaign(
        db_session(), current_app.extensions["job_publisher"], workspace_id, campaign_id
    )
    return ok(CampaignDeleted(id=campaign_id, deleted=True, purge_job_id=job_id))
