"""Typed domain errors. Each carries a stable ``code``; the API maps codes to HTTP statuses
in one place (``webapi/errors.py``), so nothing here knows about HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "NOT_FOUND"
    resource = "Resource"

    def __init__(self, resource_id: str) -> None:
        super().__init__(f"{self.resource} {resource_id} not found")
        self.resource_id = resource_id


class WorkspaceNotFound(NotFound):
    code = "WORKSPACE_NOT_FOUND"
    resource = "Workspace"


class JobNotFound(NotFound):
    code = "JOB_NOT_FOUND"
    resource = "Job"


class ValidationFailed(DomainError):
    """``details`` maps a field name to its messages."""

    code = "VALIDATION_ERROR"

    def __init__(self, message: str, details: dict[str, list[str]]) -> None:
        super().__init__(message, details)


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"
    resource = "Campaign"


class LeadNotFound(NotFound):
    code = "LEAD_NOT_FOUND"
    resource = "Lead"


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    resource = "Account"


class ReplyNotFound(NotFound):
    code = "REPLY_NOT_FOUND"
    resource = "Reply"


class SuppressionNotFound(NotFound):
    code = "SUPPRESSION_NOT_FOUND"
    resource = "Suppression"


class InvalidStatusTransition(DomainError):
    code = "INVALID_STATUS_TRANSITION"


class AccountAlreadyExists(DomainError):
    code = "ACCOUNT_ALREADY_EXISTS"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class InvalidTimeRange(DomainError):
    code = "INVALID_TIME_RANGE"


class ExportNotFound(NotFound):
    code = "EXPORT_NOT_FOUND"
    resource = "Export"


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"
    resource = "Webhook"


class WebhookDeliveryNotFound(NotFound):
    code = "WEBHOOK_DELIVERY_NOT_FOUND"
    resource = "Webhook delivery"


class ScheduleNotFound(NotFound):
    code = "SCHEDULE_NOT_FOUND"
    resource = "Export schedule"


class DownloadInvalid(DomainError):
    """A download token that was tampered with, or names a file that is not servable."""

    code = "DOWNLOAD_INVALID"


class DownloadExpired(DomainError):
    """A genuine download token past its lifetime, or for a file retention has removed."""

    code = "DOWNLOAD_EXPIRED"
