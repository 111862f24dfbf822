"""Campaigns: the top-level unit every lead, message, event and reply belongs to.

Deleting is irreversible and immediate for the API (``deleted_at`` hides the campaign at
once); the rows are removed by a ``campaign_purge`` job (``purge.py``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import CampaignNotFound
from .fields import Changes, Text
from .ids import new_id
from .jobs import outbox
from .models import Campaign, Lead
from .models.vocabulary import CampaignStatus, LeadStatus
from .pagination import DEFAULT_LIMIT, Page, paginate


def _clean_keywords(keywords: list[str]) -> list[str]:
    cleaned = [keyword.strip() for keyword in keywords]
    if any(not keyword or len(keyword) > 100 for keyword in cleaned):
        raise ValueError("each keyword must be 1-100 characters")
    return cleaned


Keywords = Annotated[list[Text], Field(max_length=100), AfterValidator(_clean_keywords)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Description = Annotated[Text, Field(max_length=10_000)]


class CampaignFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    description: Description | None = None
    keywords: Keywords = Field(default_factory=list)


class CampaignChanges(Changes):
    """Only the fields present are changed; ``description: null`` clears it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    CLEARABLE = frozenset({"description"})

    name: Name | None = None
    description: Description | None = None
    keywords: Keywords | None = None
    status: CampaignStatus | None = None


def create_campaign(session: Session, workspace_id: str, fields: CampaignFields) -> Campaign:
    campaign = Campaign(id=new_id("cmp"), workspace_id=workspace_id, **fields.model_dump())
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


def _live(workspace_id: str) -> object:
    return (Campaign.workspace_id == workspace_id) & Campaign.deleted_at.is_(None)


def get_campaign(session: Session, workspace_id: str, campaign_id: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id,
                                                     _live(workspace_id)))
    if campaign is None:
        raise CampaignNotFound(campaign_id)
    return campaign


def list_campaigns(
    session: Session, workspace_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Campaign]:
    query = select(Campaign).where(_live(workspace_id))
    return paginate(session, query, Campaign.created_at, Campaign.id, limit=limit, cursor=cursor)


def lead_counts(
    session: Session, workspace_id: str, campaign_ids: list[str]
) -> dict[str, dict[str, int]]:
    """Leads per status for each campaign, every status present (zeros included)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LeadStatus, 0))
    rows = session.execute(
        select(Lead.campaign_id, Lead.status, func.count())
        .where(Lead.workspace_id == workspace_id, Lead.campaign_id.in_(campaign_ids))
        .group_by(Lead.campaign_id, Lead.status)
    )
    for campaign_id, status, count in rows:
        counts[campaign_id][LeadStatus(status)] = count
    return {campaign_id: {str(k): v for k, v in counts[campaign_id].items()}
            for campaign_id in campaign_ids}


def update_campaign(
    session: Session, workspace_id: str, campaign_id: str, changes: CampaignChanges
) -> Campaign:
    campaign = get_campaign(session, workspace_id, campaign_id)
    for name, value in changes.model_dump(exclude_unset=True).items():
        setattr(campaign, name, value)
    session.commit()
    session.refresh(campaign)
    return campaign


def delete_campaign(
    session: Session, publisher: outbox.Publisher, workspace_id: str, campaign_id: str
) -> str:
    """Hide the campaign now and queue the purge of its rows; returns the purge job id.

    The hiding and the purge job commit together: a campaign is never hidden without the
    job that will remove its rows. Exports of this campaign alone go with it (§11.30).
    """
    # Imported here: exports -> jobs.catalog -> export queries -> analytics -> campaigns.
    from .exports.retention import retire_campaign_exports

    campaign = get_campaign(session, workspace_id, campaign_id)
    campaign.deleted_at = datetime.now(UTC)
    retire_campaign_exports(session, workspace_id, campaign_id)
    job = outbox.submit(session, publisher, kind="campaign_purge", workspace_id=workspace_id,
                        params={"campaign_id": campaign_id})
    return job.id
