"""Workspace-wide analytics: overview, campaign table, snapshot, campaign comparison,
sending accounts.

All read every campaign of the workspace, so they share the "overview" budget.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response

from campaign_analytics.analytics.compare import compare
from campaign_analytics.analytics.workspace import (
    WORKSPACE_FACTS,
    WorkspaceFacts,
    account_analytics,
    campaign_table,
    overview,
    overview_key,
    snapshot,
)
from campaign_analytics.workspaces import get_workspace

from ..auth import facts_with_key, workspace_blueprint
from ..database import read_only, snapshot_session
from ..limits import rate_limited
from ..openapi import operation
from ..responses import Answer, cached_answer, ok
from ..schemas.workspace_analytics import (
    AccountsOut,
    AccountsQuery,
    CampaignTableOut,
    CompareOut,
    CompareRequest,
    OverviewOut,
    SnapshotOut,
    WindowQuery,
)

bp = workspace_blueprint("workspace_analytics", __name__)


@bp.get("/analytics/overview")
@read_only
@facts_with_key(WORKSPACE_FACTS)
@rate_limited("overview")
@operation(
    "Every campaign's numbers over a time range, and the top 5 by reply rate",
    response=OverviewOut, query=WindowQuery, tags=("analytics",),
    description="Deleted campaigns are left out; as_of says how fresh the rollups are.",
)
def workspace_overview(workspace_id: str, query: WindowQuery) -> Response:
    now = datetime.now(UTC)

    def answer(facts: WorkspaceFacts) -> Answer:
        window = query.window_in(facts.timezone, now)
        return (overview_key(facts, window, query.engagement),
                lambda session: OverviewOut.model_validate(
                    overview(session, facts, window, query.engagement)))

    return cached_answer(WORKSPACE_FACTS, answer)


@bp.get("/analytics/campaigns")
@read_only
@rate_limited("overview")
@operation(
    "Every campaign's numbers over a time range, one row each, newest first",
    response=CampaignTableOut, query=WindowQuery, tags=("analytics",),
    description="The overview's per-campaign rows for all campaigns (zeros included), with "
                "their lead count and creation time: a campaign list with numbers in one "
                "request.",
)
def campaign_numbers(workspace_id: str, query: WindowQuery) -> Response:
    session = snapshot_session()
    facts = WORKSPACE_FACTS.read(session, {"workspace_id": workspace_id})
    window = query.window_in(facts.timezone, datetime.now(UTC))
    return ok(CampaignTableOut.model_validate(
        campaign_table(session, facts, window, query.engagement)))


@bp.get("/reporting/snapshot")
@read_only
@operation(
    "All-time totals: campaigns, sends, replies, placements and their rates",
    response=SnapshotOut, tags=("analytics",),
    description="Replies are reply records; placements are leads whose status is placed.",
)
def reporting_snapshot(workspace_id: str) -> Response:
    return ok(SnapshotOut.model_validate(snapshot(snapshot_session(), workspace_id)))


@bp.post("/analytics/compare")
@read_only
@operation(
    "Compare 2-20 campaigns' rates, with Wilson intervals and a chi-square test",
    response=CompareOut, body=CompareRequest, tags=("analytics",),
    description="An unknown, deleted or other workspace's campaign id is CAMPAIGN_NOT_FOUND.",
)
def compare_campaigns(workspace_id: str, body: CompareRequest) -> Response:
    session = snapshot_session()
    window = body.window(get_workspace(session, workspace_id).timezone, datetime.now(UTC))
    return ok(CompareOut.model_validate(compare(session, workspace_id, body, window)))


@bp.get("/analytics/accounts")
@read_only
@operation(
    "Every sending account: lifetime and last-30-day sends, success and bounce rates",
    response=AccountsOut, query=AccountsQuery, tags=("analytics",),
)
def accounts(workspace_id: str, query: AccountsQuery) -> Response:
    data = account_analytics(snapshot_session(), workspace_id, query.timezone, datetime.now(UTC))
    return ok(AccountsOut.model_validate(data))
