"""Deliverability and the send-time engagement heatmap (workspace-wide analytics)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response

from campaign_analytics.analytics.deliverability import deliverability
from campaign_analytics.analytics.heatmap import engagement_heatmap

from ..auth import workspace_blueprint
from ..database import read_only, snapshot_session
from ..limits import rate_limited
from ..openapi import operation
from ..responses import ok
from ..schemas.deliverability import (
    DeliverabilityOut,
    DeliverabilityQuery,
    HeatmapOut,
    HeatmapQuery,
)

bp = workspace_blueprint("deliverability", __name__)


@bp.get("/analytics/deliverability")
@read_only
@rate_limited("deliverability")
@operation(
    "Bounces, complaints, reputation and mailbox providers over a time range",
    response=DeliverabilityOut, query=DeliverabilityQuery, tags=("analytics",),
    description="campaignId and accountId narrow every number; blacklist_status is the "
                "accounts' current state; reputation_trend has a point per local day "
                "with sends.",
)
def report(workspace_id: str, query: DeliverabilityQuery) -> Response:
    session = snapshot_session()
    window = query.window(session, workspace_id, datetime.now(UTC))
    data = deliverability(session, workspace_id, window, campaign_id=query.campaign_id,
                          account_id=query.account_id, engagement=query.engagement)
    return ok(DeliverabilityOut.model_validate(data))


@bp.get("/analytics/engagement-heatmap")
@read_only
@operation(
    "When sends draw engagement: by local day of week and time of day",
    response=HeatmapOut, query=HeatmapQuery, tags=("analytics",),
    description="Counts messages sent in the window, each with its opens, clicks and "
                "replies whenever they came, in the slot it was sent in.",
)
def heatmap(workspace_id: str, query: HeatmapQuery) -> Response:
    session = snapshot_session()
    window = query.window(session, workspace_id, datetime.now(UTC))
    data = engagement_heatmap(session, workspace_id, window, query.granularity,
                              campaign_id=query.campaign_id, engagement=query.engagement)
    return ok(HeatmapOut.model_validate(data))
