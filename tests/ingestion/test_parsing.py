"""The fast parse path gives exactly what the field-by-field checks give, for good and bad
events alike (the same event, or the same rejection code and message)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from campaign_analytics.ingestion.parsing import Rejected, _parse_checked, parse_event

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BASE: dict[str, Any] = {"external_id": "e-1", "occurred_at": "2026-11-02T09:15:00Z",
                        "campaign_id": "cmp_1", "message_id": "m-1"}
GOOD = [
    {**BASE, "type": "sent", "lead_id": "lead_1", "account_id": "acct_1", "step": 2,
     "variant": "A", "subject": "Guest post idea", "recipient": " Editor@GMail.com "},
    {**BASE, "type": "failed", "lead_id": "lead_1", "account_id": "acct_1",
     "recipient": "x@hotmail.co.uk", "step": None, "variant": ""},
    {**BASE, "type": "delivered"},
    {**BASE, "type": "bounced", "bounce_type": "hard", "reason": "550 unknown user"},
    {**BASE, "type": "opened", "user_agent": "Mozilla/5.0", "ip": "203.0.113.9"},
    {**BASE, "type": "clicked", "url": "https://example.com/p"},
    {**BASE, "type": "replied", "from": " Editor@Example.com", "subject": "Re: idea",
     "body": "Not interested, please remove me.", "headers": {"Auto-Submitted": "no"}},
    {**BASE, "type": "replied", "subject": "Out of Office", "body": "I am away until Monday"},
    {**BASE, "type": "spam_complaint", "occurred_at": "2026-11-02T10:15:00+02:00"},
    {**BASE, "type": "unsubscribed", "lead_id": "lead_2"},
]
ODD_VALUES = [None, "", "  ", 7, True, 1.5, [], {}, ["x"], "a\x00b", "x" * 201, "x" * 4001,
              "not-a-date", "2026-11-02T09:15:00", "2030-01-01T00:00:00Z", -1, 101, "hard",
              "soft", "sent", "teleported", "a@b.co", "no-at-sign", {"k": "v"}, {"k": 1}]
FIELDS = ["external_id", "type", "occurred_at", "campaign_id", "message_id", "lead_id",
          "account_id", "step", "variant", "subject", "recipient", "bounce_type", "reason",
          "url", "user_agent", "ip", "from", "body", "headers", "colour"]


def _outcome(parse: Any, raw: Any) -> object:
    try:
        return parse(7, copy.deepcopy(raw), NOW)
    except Rejected as exc:
        return (exc.code, exc.message)


def _variants() -> list[Any]:
    variants: list[Any] = [*GOOD, "not an object", 3, None, [BASE]]
    for good in GOOD:
        for name in FIELDS:
            variants.append({k: v for k, v in good.items() if k != name})
            variants += [{**good, name: value} for value in ODD_VALUES]
    return variants


def test_fast_path_matches_the_checks() -> None:
    variants = _variants()
    differ = [raw for raw in variants
              if _outcome(parse_event, raw) != _outcome(_parse_checked, raw)]
    assert len(variants) > 5000
    assert differ == []


def test_good_events_take_the_fast_path_and_parse() -> None:
    events = [parse_event(i, raw, NOW) for i, raw in enumerate(GOOD)]
    assert events[0].recipient == "editor@gmail.com"
    assert events[0].mailbox_provider == "gmail"
    assert events[6].classification == "not_interested"
    assert events[6].reply_from == "editor@example.com"
    assert events[8].occurred_at == datetime(2026, 11, 2, 8, 15, tzinfo=UTC)
    assert NOW + timedelta(days=1) > events[0].occurred_at
