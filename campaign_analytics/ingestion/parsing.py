"""Validation of one raw event, without the database: shape, types, required fields, clock.

Each rejection carries its own code (SPEC 11.17) so a sender can fix that event alone.
References to campaigns, leads and accounts are checked afterwards, for the whole batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..classification import classify_reply
from ..models.vocabulary import BounceType, EventType
from ..providers import mailbox_provider

FUTURE_TOLERANCE = timedelta(days=1)
MAX_ID = 200
MAX_TEXT = 100_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MESSAGE_TYPES = frozenset({EventType.SENT, EventType.FAILED})
REQUIRED_ALWAYS = ("external_id", "type", "occurred_at", "campaign_id", "message_id")
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    EventType.SENT: ("lead_id", "account_id", "recipient"),
    EventType.FAILED: ("lead_id", "account_id", "recipient"),
    EventType.BOUNCED: ("bounce_type",),
}
KNOWN_FIELDS = frozenset({
    *REQUIRED_ALWAYS, "lead_id", "account_id", "step", "variant", "subject", "recipient",
    "bounce_type", "reason", "url", "user_agent", "ip", "from", "body", "headers",
})


@dataclass(frozen=True)
class InvalidRecord:
    """A record a reader could not even decode (say, a line that is not JSON)."""

    message: str


class Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    index: int
    external_id: str
    type: str
    occurred_at: datetime
    campaign_id: str
    message_id: str
    lead_id: str | None = None
    account_id: str | None = None
    step: int = 0
    variant: str | None = None
    subject: str | None = None
    recipient: str | None = None
    mailbox_provider: str | None = None
    bounce_type: str | None = None
    reason: str | None = None
    url: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    reply_from: str | None = None
    body: str | None = None
    classification: str | None = None


def _text(raw: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected("VALIDATION_ERROR", f"{name} must be a string")
    if len(value) > limit:
        raise Rejected("VALIDATION_ERROR", f"{name} is longer than {limit} characters")
    if "\x00" in value:
        raise Rejected("VALIDATION_ERROR", f"{name} must not contain NUL characters")
    return value


def _identifier(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # senders' numeric ids are fine as identifiers
        raw[name] = value
    text = _text(raw, name, MAX_ID)
    if text is not None and not text.strip():
        raise Rejected("MISSING_FIELD", f"{name} is empty")
    return text


def _timestamp(raw: dict[str, Any], now: datetime) -> datetime:
    value = raw["occurred_at"]
    if not isinstance(value, str):
        raise Rejected("VALIDATION_ERROR", "occurred_at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected("VALIDATION_ERROR", f"occurred_at is not ISO 8601: {value!r}") from None
    if moment.tzinfo is None:
        raise Rejected("VALIDATION_ERROR", "occurred_at needs a UTC offset or Z")
    if moment > now + FUTURE_TOLERANCE:
        raise Rejected("TIMESTAMP_IN_FUTURE", "occurred_at is more than 1 day in the future")
    return moment


def _step(raw: dict[str, Any]) -> int:
    step = raw.get("step", 0)
    if step is None:
        return 0
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 100:
        raise Rejected("VALIDATION_ERROR", "step must be an integer from 0 to 100")
    return step


def _recipient(raw: dict[str, Any]) -> str | None:
    recipient = _text(raw, "recipient", 320)
    if recipient is not None and not EMAIL.match(recipient.strip()):
        raise Rejected("VALIDATION_ERROR", "recipient is not an e-mail address")
    return recipient.strip().lower() if recipient else None


def _bounce_type(raw: dict[str, Any]) -> str | None:
    value = raw.get("bounce_type")
    if value is None:
        return None
    if value not in BounceType.__members__.values():
        raise Rejected("VALIDATION_ERROR", "bounce_type must be 'hard' or 'soft'")
    return str(value)


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise Rejected("VALIDATION_ERROR", "headers must be an object of strings")
    return headers


def parse_event(index: int, raw: Any, now: datetime) -> ParsedEvent:
    """One validated event, or ``Rejected`` with the first problem found."""
    if isinstance(raw, InvalidRecord):
        raise Rejected("VALIDATION_ERROR", raw.message)
    if not isinstance(raw, dict):
        raise Rejected("VALIDATION_ERROR", "an event must be a JSON object")
    missing = [name for name in REQUIRED_ALWAYS if raw.get(name) in (None, "")]
    if "type" not in missing and raw["type"] not in EventType.__members__.values():
        raise Rejected("INVALID_EVENT_TYPE", f"unknown event type {raw['type']!r}")
    missing += [name for name in REQUIRED_BY_TYPE.get(raw.get("type", ""), ())
                if raw.get(name) in (None, "")]
    if missing:
        raise Rejected("MISSING_FIELD", f"missing required field(s): {', '.join(missing)}")
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        raise Rejected("VALIDATION_ERROR", f"unknown field(s): {', '.join(unknown)}")
    kind = raw["type"]
    recipient = _recipient(raw)
    subject, body = _text(raw, "subject", 2000), _text(raw, "body")
    replied = kind == EventType.REPLIED
    return ParsedEvent(
        index=index,
        external_id=_identifier(raw, "external_id") or "",
        type=kind,
        occurred_at=_timestamp(raw, now),
        campaign_id=_identifier(raw, "campaign_id") or "",
        message_id=_identifier(raw, "message_id") or "",
        lead_id=_identifier(raw, "lead_id"),
        account_id=_identifier(raw, "account_id"),
        step=_step(raw),
        variant=_text(raw, "variant", 50),
        subject=subject,
        recipient=recipient,
        mailbox_provider=mailbox_provider(recipient).value if kind in MESSAGE_TYPES else None,
        bounce_type=_bounce_type(raw),
        reason=_text(raw, "reason", 2000),
        url=_text(raw, "url", 4000),
        user_agent=_text(raw, "user_agent", 2000),
        ip=_text(raw, "ip", 45),
        reply_from=(_text(raw, "from", 320) or "").strip().lower() or None,
        body=body,
        classification=(classify_reply(subject, body, _headers(raw)).value if replied else None),
    )
