"""Campaign analytics and refresh requests."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app

from campaign_analytics.analytics.campaign import (
    CAMPAIGN_FACTS,
    CampaignFacts,
    answer_key,
    campaign_analytics,
)
from campaign_analytics.analytics.requests import request_refresh

from ..auth import facts_with_key, workspace_blueprint
from ..database import db_session, read_only
from ..limits import rate_limited
from ..openapi import operation
from ..responses import Answer, cached_answer, ok
from ..schemas.analytics import (
    CampaignAnalyticsOut,
    CampaignAnalyticsQuery,
    RefreshOut,
    RefreshRequest,
)

bp = workspace_blueprint("analytics", __name__)


@bp.get("/campaigns/<campaign_id>/analytics")
@read_only
@facts_with_key(CAMPAIGN_FACTS)
@rate_limited("campaign_analytics")
@operation(
    "A campaign's numbers over a time range", response=CampaignAnalyticsOut,
    query=CampaignAnalyticsQuery, tags=("analytics",),
    description="summary, rates and time_series count the window; leads and progress are "
                "the current state; as_of says how fresh the rollups are.",
)
def campaign(workspace_id: str, campaign_id: str, query: CampaignAnalyticsQuery) -> Response:
    now = datetime.now(UTC)

    def answer(facts: CampaignFacts) -> Answer:
        window = query.window_in(facts.timezone, now)
        return (answer_key(facts, window, query.group_by, now, query.engagement),
                lambda session: CampaignAnalyticsOut.model_validate(campaign_analytics(
                    session, facts, window, query.group_by, now, query.engagement)))

    return cached_answer(CAMPAIGN_FACTS, answer)


@bp.post("/analytics/refresh")
@operation(
    "Bring the rollups up to date", response=RefreshOut, body=RefreshRequest, status=202,
    tags=("analytics",),
    description="Returns a queued refresh of the same scope and mode if there is one; "
                "follow it at /jobs/{job_id}. Incremental refreshes cover the workspace.",
)
def refresh(workspace_id: str, body: RefreshRequest) -> Response:
    job = request_refresh(db_session(), current_app.extensions["job_publisher"], workspace_id,
                          body.mode, body.campaign_ids)
    campaigns = job.params["campaign_ids"]
    return ok(RefreshOut(job_id=job.id, status=job.status, mode=job.params["mode"],
                         scope={"campaign_ids": campaigns} if campaigns else {"workspace": True}),
              status=202)
