"""Campaign, lead and account models. Request bodies are the domain's own input models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from campaign_analytics.campaigns import CampaignChanges, CampaignFields
from campaign_analytics.fields import Text
from campaign_analytics.leads import MAX_BULK, LeadChanges, LeadFields
from campaign_analytics.models import Campaign, Lead, SendingAccount
from campaign_analytics.models.vocabulary import (
    CampaignStatus,
    LeadStatus,
    Qualification,
)

from .common import PageQuery, Strict, UtcDatetime

__all__ = ["CampaignChanges", "CampaignFields", "LeadChanges", "LeadFields"]


class CampaignOut(BaseModel):
    id: str
    name: str
    description: str | None
    keywords: list[str]
    status: CampaignStatus
    lead_counts: dict[LeadStatus, int]
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, campaign: Campaign, lead_counts: dict[str, int]) -> CampaignOut:
        return cls(
            id=campaign.id, name=campaign.name, description=campaign.description,
            keywords=list(campaign.keywords), status=CampaignStatus(campaign.status),
            lead_counts=lead_counts,  # type: ignore[arg-type]
            created_at=campaign.created_at, updated_at=campaign.updated_at,
        )


class CampaignDeleted(BaseModel):
    id: str
    deleted: bool
    purge_job_id: str


class LeadOut(BaseModel):
    id: str
    campaign_id: str
    website_url: str | None
    website_title: str | None
    contact_email: str | None
    quality_score: float | None
    relevance_score: float | None
    guest_post_likelihood: float | None
    source: str | None
    status: LeadStatus
    qualification: Qualification
    qualified_at: UtcDatetime | None
    account_id: str | None
    placed_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        return cls.model_validate(lead, from_attributes=True)


class LeadListQuery(PageQuery):
    status: LeadStatus | None = Field(None, description="Only leads in this status")


# Each item is validated on its own (so one bad lead fails alone), with LeadFields' schema.
LeadItem = Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/LeadFields"})]


class BulkLeadsRequest(Strict):
    leads: list[LeadItem] = Field(
        description=f"Up to {MAX_BULK} lead objects (fields as for a single lead)"
    )


class CreatedItem(BaseModel):
    index: int
    id: str


class FailedItem(BaseModel):
    index: int
    code: str
    message: str


class BulkLeadsResult(BaseModel):
    created: list[CreatedItem]
    failed: list[FailedItem]


class BulkStatusRequest(Strict):
    lead_ids: list[Text] = Field(min_length=1, max_length=MAX_BULK)
    status: LeadStatus


class FailedLead(BaseModel):
    lead_id: str
    code: str
    message: str


class BulkStatusResult(BaseModel):
    updated: list[str]
    failed: list[FailedLead]


class AccountOut(BaseModel):
    id: str
    email: str
    domain: str
    ip_address: str | None
    blacklisted: bool
    blacklist_checked_at: UtcDatetime | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, account: SendingAccount) -> AccountOut:
        return cls.model_validate(account, from_attributes=True)
