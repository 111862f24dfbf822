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
    "bounce_type", "reason", "url", "user_agent", "ip", "http_method", "from", "body",
    "headers",
})
IDENTIFIERS = ("external_id", "campaign_id", "message_id", "lead_id", "account_id")
# The longest value of each text field.
TEXT_LIMITS: dict[str, int] = {
    **dict.fromkeys(IDENTIFIERS, MAX_ID), "variant": 50, "subject": 2000, "recipient": 320,
    "reason": 2000, "url": 4000, "user_agent": 2000, "ip": 45, "http_method": 10, "from": 320,
    "body": MAX_TEXT,
}
_IDENTIFIER_SET = frozenset(IDENTIFIERS)
_TYPES = frozenset(EventType.__members__.values())
_BOUNCE_TYPES = frozenset(BounceType.__members__.values())


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
    http_method: str | None = None  # of the tracking request (opens, clicks): GET, HEAD, …


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    limit = TEXT_LIMITS[name]
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
    text = _text(raw, name)
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
    recipient = _text(raw, "recipient")
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
    if type(raw) is dict:
        event = _parse_valid(index, raw, now)
        if event is not None:
            return event
    return _parse_checked(index, raw, now)


def _parse_valid(index: int, raw: dict[str, Any], now: datetime) -> ParsedEvent | None:
    """The fast path for an event with nothing wrong: the same result as
    ``_parse_checked``, or ``None`` at the first doubt (which ``_parse_checked`` explains)."""
    kind = raw.get("type")
    if type(kind) is not str or kind not in _TYPES or not KNOWN_FIELDS.issuperset(raw):
        return None
    for name, value in raw.items():
        if value is None or (limit := TEXT_LIMITS.get(name)) is None:
            continue
        if type(value) is not str or len(value) > limit or "\x00" in value or (
                name in _IDENTIFIER_SET and not value.strip()):
            return None
    get = raw.get
    for name in REQUIRED_BY_TYPE.get(kind, ()):
        if get(name) in (None, ""):
            return None
    if not get("external_id") or not get("campaign_id") or not get("message_id"):
        return None
    occurred_at = get("occurred_at")
    if type(occurred_at) is not str:
        return None
    try:
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        return None
    if moment.tzinfo is None or moment > now + FUTURE_TOLERANCE:
        return None
    step = get("step")
    if step is None:
        step = 0
    elif type(step) is not int or not 0 <= step <= 100:
        return None
    recipient = get("recipient")
    if recipient is not None:
        recipient = recipient.strip()
        if not EMAIL.match(recipient):
            return None
        recipient = recipient.lower()
    bounce_type = get("bounce_type")
    if bounce_type is not None and (type(bounce_type) is not str
                                    or bounce_type not in _BOUNCE_TYPES):
        return None
    classification = None
    if kind == EventType.REPLIED:
        headers = get("headers") or {}
        if type(headers) is not dict or not all(
                type(k) is str and type(v) is str for k, v in headers.items()):
            return None
        classification = classify_reply(get("subject"), get("body"), headers).value
    return ParsedEvent(
        index, raw["external_id"], kind, moment, raw["campaign_id"], raw["message_id"],
        get("lead_id"), get("account_id"), step, get("variant"), get("subject"),
        recipient or None,
        mailbox_provider(recipient).value if kind in MESSAGE_TYPES else None,
        bounce_type, get("reason"), get("url"), get("user_agent"), get("ip"),
        (get("from") or "").strip().lower() or None, get("body"), classification,
        get("http_method"),
    )


def _parse_checked(index: int, raw: Any, now: datetime) -> ParsedEvent:
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
    subject, body = _text(raw, "subject"), _text(raw, "body")
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
        variant=_text(raw, "variant"),
        subject=subject,
        recipient=recipient,
        mailbox_provider=mailbox_provider(recipient).value if kind in MESSAGE_TYPES else None,
        bounce_type=_bounce_type(raw),
        reason=_text(raw, "reason"),
        url=_text(raw, "url"),
        user_agent=_text(raw, "user_agent"),
        ip=_text(raw, "ip"),
        reply_from=(_text(raw, "from") or "").strip().lower() or None,
        body=body,
        classification=(classify_reply(subject, body, _headers(raw)).value if replied else None),
        http_method=_text(raw, "http_method"),
    )
