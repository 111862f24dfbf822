"""Typed SQLAlchemy models of every table; importing this registers them on ``Base``."""

from .base import Base
from .job import Job
from .messaging import EmailEvent, Message, Reply
from .outreach import Campaign, Lead, LeadChange, SendingAccount, Suppression
from .rollup import (
    BounceReasonBucket,
    CampaignBucket,
    CampaignLeads,
    DeliveryBucket,
    EventVerdict,
    RefreshState,
    ReplyCorrection,
    VerdictReason,
)
from .schedule import ExportSchedule
from .webhook import Webhook, WebhookDelivery, WebhookDeliveryAttempt
from .workspace import ApiKey, Workspace

__all__ = [
    "ApiKey",
    "Base",
    "BounceReasonBucket",
    "Campaign",
    "CampaignBucket",
    "CampaignLeads",
    "DeliveryBucket",
    "EmailEvent",
    "EventVerdict",
    "ExportSchedule",
    "Job",
    "Lead",
    "LeadChange",
    "Message",
    "RefreshState",
    "Reply",
    "ReplyCorrection",
    "SendingAccount",
    "Suppression",
    "VerdictReason",
    "Webhook",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "Workspace",
]
