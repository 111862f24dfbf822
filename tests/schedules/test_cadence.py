"""When schedules run (docs/schedules.md): daily, weekly and cron cadences as local
wall-clock times, across DST changes and in half-hour zones; the one catch-up slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from campaign_analytics.schedules.cadence import Cadence, describe, latest_slot, next_slot


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def slots(expression: str, timezone: str, after: str, count: int) -> list[str]:
    """``count`` consecutive slots after ``after``, in UTC."""
    found, at = [], utc(after)
    for _ in range(count):
        slot = next_slot(expression, timezone, at)
        assert slot is not None
        found.append(slot.isoformat().replace("+00:00", "Z"))
        at = slot
    return found


def cadence(**fields: str) -> Cadence:
    return Cadence.model_validate(fields)


@pytest.mark.parametrize(("fields", "expression"), [
    ({"type": "daily", "time": "09:30"}, "30 9 * * *"),
    ({"type": "weekly", "weekday": "monday", "time": "00:05"}, "5 0 * * 1"),
    ({"type": "weekly", "weekday": "sunday", "time": "23:59"}, "59 23 * * 0"),
    ({"type": "cron", "cron": "  */15   8-18 * *  MON-FRI "}, "*/15 8-18 * * MON-FRI"),
])
def test_every_cadence_is_a_cron_expression(fields: dict[str, str], expression: str) -> None:
    assert cadence(**fields).expression() == expression


def test_a_cadence_reads_in_words() -> None:
    assert describe(cadence(type="weekly", weekday="monday", time="09:00").expression()) == (
        "At 09:00 on Monday")


@pytest.mark.parametrize(("fields", "field"), [
    ({"type": "daily"}, None),  # needs its time
    ({"type": "daily", "time": "9:00"}, "time"),
    ({"type": "daily", "time": "24:00"}, "time"),
    ({"type": "daily", "time": "09:00", "cron": "0 9 * * *"}, None),  # takes no cron
    ({"type": "weekly", "time": "09:00"}, None),  # needs its weekday
    ({"type": "weekly", "weekday": "funday", "time": "09:00"}, "weekday"),
    ({"type": "cron"}, None),
    ({"type": "cron", "cron": "0 9 * *"}, "cron"),  # four fields
    ({"type": "cron", "cron": "0 0 0 9 * * *"}, "cron"),  # seconds and years: not cron
    ({"type": "cron", "cron": "61 * * * *"}, "cron"),
    ({"type": "cron", "cron": "0 0 30 2 *"}, "cron"),  # 30 February never comes
    ({"type": "hourly"}, "type"),
])
def test_a_bad_cadence_names_its_field(fields: dict[str, str], field: str | None) -> None:
    with pytest.raises(ValidationError) as raised:
        cadence(**fields)
    [error] = raised.value.errors()
    assert error["loc"][:1] == ((field,) if field else ())


def test_daily_stays_at_its_local_time_across_both_dst_changes_in_berlin() -> None:
    # Berlin: +01:00 until 29 March 2026, +02:00 until 25 October 2026.
    assert slots("0 9 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3) == [
        "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    assert slots("0 9 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", 3) == [
        "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"]


def test_a_local_time_skipped_by_spring_forward_runs_once_at_the_next_valid_time() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: that day's run is at 03:00 CEST.
    assert slots("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3) == [
        "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    # New York: 02:30 does not exist on 8 March 2026.
    assert slots("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2) == [
        "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]


def test_a_local_time_repeated_by_fall_back_runs_once() -> None:
    # 01:30 happens twice in New York on 1 November 2026: one run, at the first.
    assert slots("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3) == [
        "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]
    # Asked from inside the repeated hour, after the run: the next day's.
    assert slots("30 1 * * *", "America/New_York", "2026-11-01T06:15:00Z", 1) == [
        "2026-11-02T06:30:00Z"]


def test_an_every_half_hour_schedule_keeps_its_pace_through_the_repeated_hour() -> None:
    found = slots("*/30 * * * *", "Europe/Berlin", "2026-10-24T23:50:00Z", 6)
    assert found == ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z",
                     "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"]


def test_half_hour_zones_keep_their_local_time() -> None:
    # Kolkata is +05:30 all year: weekly on Monday at 09:00 is 03:30 UTC.
    assert slots("0 9 * * 1", "Asia/Kolkata", "2026-11-29T00:00:00Z", 2) == [
        "2026-11-30T03:30:00Z", "2026-12-07T03:30:00Z"]


def test_a_slot_is_strictly_after_the_instant_asked() -> None:
    assert next_slot("0 9 * * *", "UTC", utc("2026-11-29T09:00:00Z")) == utc(
        "2026-11-30T09:00:00Z")
    assert next_slot("0 9 * * *", "UTC", utc("2026-11-29T08:59:59Z")) == utc(
        "2026-11-29T09:00:00Z")


@pytest.mark.parametrize(("due", "now", "latest"), [
    # Due and run on time: its own slot.
    ("2026-11-29T09:00:00Z", "2026-11-29T09:00:20Z", "2026-11-29T09:00:00Z"),
    # Three slots missed: the latest only.
    ("2026-11-29T09:00:00Z", "2026-11-29T09:03:59Z", "2026-11-29T09:03:00Z"),
    # Exactly on a slot: that slot.
    ("2026-11-29T09:00:00Z", "2026-11-29T09:05:00Z", "2026-11-29T09:05:00Z"),
])
def test_the_catch_up_slot_is_the_latest_due(due: str, now: str, latest: str) -> None:
    assert latest_slot("* * * * *", "UTC", utc(due), utc(now)) == utc(latest)


def test_the_catch_up_slot_is_found_inside_a_repeated_hour() -> None:
    # Every half hour in Berlin, down since 00:10 UTC on 25 October, back at 01:45 UTC
    # (02:45 in the second, +01:00 pass of the repeated hour): the 02:30+01:00 slot.
    assert latest_slot("*/30 * * * *", "Europe/Berlin", utc("2026-10-25T00:30:00Z"),
                       utc("2026-10-25T01:45:00Z")) == utc("2026-10-25T01:30:00Z")


def test_a_daily_catch_up_after_days_away_is_the_last_days_slot() -> None:
    due = utc("2026-11-20T08:00:00Z")  # 09:00 in Berlin
    now = utc("2026-11-29T07:00:00Z")  # 08:00 in Berlin: today's 09:00 has not come
    assert latest_slot("0 9 * * *", "Europe/Berlin", due, now) == due + timedelta(days=8)
