"""Typed SQLAlchemy models of every table; importing this registers them on ``Base``."""

from .base import Base
from .job import Job
from .messaging import EmailEvent, Message, Reply
from .outreach import Campaign, Lead, SendingAccount, Suppression
from .workspace import ApiKey, Workspace

__all__ = [
    "ApiKey",
    "Base",
    "Campaign",
    "EmailEvent",
    "Job",
    "Lead",
    "Message",
    "Reply",
    "SendingAccount",
    "Suppression",
    "Workspace",
]
