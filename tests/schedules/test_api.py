"""The export schedule endpoints through HTTP (SPEC §10, docs/schedules.md): create, list,
read, change, pause, resume, delete; validation errors under the right field; isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World

SCHEDULES = "/export-schedules"
DAILY = {"type": "daily", "time": "09:00"}


def body(**changes: Any) -> dict[str, Any]:
    return {"name": "Weekly replies", "export": {"export_type": "replies", "time_range": "7d"},
            "schedule": DAILY, **changes}


def create(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    response = tenant.post(SCHEDULES, json=body(**changes))
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def send(tenant: Tenant, method: str, path: str, json: Any = None) -> Any:
    return tenant.client.open(tenant.prefix + path, method=method, json=json,
                              headers=tenant.headers)


def parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


def next_local(hour: int, minute: int, zone: str, after: datetime) -> datetime:
    """The first local ``hour:minute`` in ``zone`` after ``after``, in UTC (no DST day near)."""
    local = after.astimezone(ZoneInfo(zone))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot <= local:
        slot = (slot + timedelta(days=1)).replace(tzinfo=ZoneInfo(zone))
    return slot.astimezone(UTC)


def test_a_schedule_is_created_active_with_its_next_run_in_its_timezone(
    make_tenant: Any,
) -> None:
    tenant = make_tenant(timezone="Asia/Kolkata")
    before = datetime.now(UTC)
    schedule = create(tenant)
    assert schedule["id"].startswith("sch_")
    assert schedule["status"] == "active"
    assert schedule["timezone"] == "Asia/Kolkata"  # the workspace's by default
    assert schedule["schedule"] == {"type": "daily", "time": "09:00", "weekday": None,
                                    "cron": "0 9 * * *", "description": "At 09:00 every day"}
    assert parse(schedule["next_run_at"]) == next_local(9, 0, "Asia/Kolkata", before)
    assert schedule["next_run_at"].endswith("Z")
    assert (schedule["last_run_at"], schedule["last_run"], schedule["last_error"]) == (
        None, None, None)
    # The export parameters as validated, with their defaults.
    assert schedule["export"]["export_type"] == "replies"
    assert schedule["export"]["format"] == "csv"
    assert schedule["export"]["time_range"] == "7d"
    assert tenant.get(f"{SCHEDULES}/{schedule['id']}").get_json()["data"] == schedule


def test_weekly_and_cron_cadences_in_a_timezone_of_their_own(tenant: Tenant) -> None:
    weekly = create(tenant, schedule={"type": "weekly", "weekday": "friday", "time": "17:30"},
                    timezone="America/New_York")
    assert weekly["schedule"]["cron"] == "30 17 * * 5"
    local = parse(weekly["next_run_at"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.strftime("%A %H:%M"), local.second) == ("Friday 17:30", 0)
    cron = create(tenant, schedule={"type": "cron", "cron": "*/15 * * * *"})
    assert cron["schedule"] == {"type": "cron", "time": None, "weekday": None,
                                "cron": "*/15 * * * *",
                                "description": "Every 15th minute of every hour"}
    assert 0 < (parse(cron["next_run_at"]) - datetime.now(UTC)).total_seconds() <= 15 * 60


def test_the_list_is_newest_first_and_paginated(tenant: Tenant) -> None:
    ids = [create(tenant, name=f"Schedule {n}")["id"] for n in range(3)]
    first = tenant.get(SCHEDULES, query_string={"limit": 2}).get_json()
    second = tenant.get(SCHEDULES, query_string={"limit": 2, "cursor": first["next_cursor"]})
    assert [s["id"] for s in first["data"]] + [s["id"] for s in second.get_json()["data"]] == (
        ids[::-1])
    assert second.get_json()["next_cursor"] is None


def test_a_change_of_name_or_export_keeps_the_next_run_a_new_cadence_moves_it(
    tenant: Tenant,
) -> None:
    schedule = create(tenant)
    path = f"{SCHEDULES}/{schedule['id']}"
    renamed = send(tenant, "PATCH", path, {"name": "Renamed",
                                           "export": {"export_type": "leads"}}).get_json()["data"]
    assert renamed["name"] == "Renamed"
    assert renamed["export"]["export_type"] == "leads"
    assert renamed["next_run_at"] == schedule["next_run_at"]

    moved = send(tenant, "PATCH", path, {"schedule": {"type": "daily", "time": "21:45"},
                                         "timezone": "Europe/Berlin"}).get_json()["data"]
    assert (moved["schedule"]["cron"], moved["timezone"]) == ("45 21 * * *", "Europe/Berlin")
    local = parse(moved["next_run_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert local.strftime("%H:%M") == "21:45"
    assert tenant.get(path).get_json()["data"] == moved


def test_pause_stops_the_runs_and_resume_starts_from_now(tenant: Tenant) -> None:
    schedule = create(tenant, schedule={"type": "cron", "cron": "* * * * *"})
    path = f"{SCHEDULES}/{schedule['id']}"
    paused = tenant.post(f"{path}/pause").get_json()["data"]
    assert (paused["status"], paused["next_run_at"]) == ("paused", None)
    assert tenant.post(f"{path}/pause").get_json()["data"] == paused  # idempotent
    # A change of cadence while paused does not schedule a run.
    changed = send(tenant, "PATCH", path, {"schedule": {"type": "cron", "cron": "*/5 * * * *"}})
    assert changed.get_json()["data"]["next_run_at"] is None

    before = datetime.now(UTC)
    resumed = tenant.post(f"{path}/resume").get_json()["data"]
    assert resumed["status"] == "active"
    assert before < parse(resumed["next_run_at"]) <= before + timedelta(minutes=5)
    assert tenant.post(f"{path}/resume").get_json()["data"] == resumed


def test_delete_answers_the_id_and_the_schedule_is_gone(tenant: Tenant) -> None:
    schedule_id = create(tenant)["id"]
    path = f"{SCHEDULES}/{schedule_id}"
    response = send(tenant, "DELETE", path)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"id": schedule_id, "deleted": True}
    assert_error(tenant.get(path), 404, "SCHEDULE_NOT_FOUND")
    assert_error(send(tenant, "DELETE", path), 404, "SCHEDULE_NOT_FOUND")


@pytest.mark.parametrize(("changes", "field"), [
    ({"schedule": {"type": "cron", "cron": "61 * * * *"}}, "schedule.cron"),
    ({"schedule": {"type": "cron", "cron": "0 9 * *"}}, "schedule.cron"),
    ({"schedule": {"type": "daily", "time": "25:00"}}, "schedule.time"),
    ({"schedule": {"type": "weekly", "weekday": "someday", "time": "09:00"}},
     "schedule.weekday"),
    ({"schedule": {"type": "weekly", "time": "09:00"}}, "schedule"),
    ({"schedule": {"type": "monthly"}}, "schedule.type"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"export": {"export_type": "everything"}}, "export.export_type"),
    ({"export": {"export_type": "leads", "timezone": "Nowhere/Land"}}, "export.timezone"),
    ({"export": {"export_type": "leads", "format": "pdf"}}, "export.format"),
    ({"name": ""}, "name"),
    ({"when": "always"}, "when"),
])
def test_bad_fields_are_validation_errors_under_their_field(
    tenant: Tenant, changes: dict[str, Any], field: str,
) -> None:
    error = assert_error(tenant.post(SCHEDULES, json=body(**changes)), 400, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_a_patch_is_validated_like_a_creation(tenant: Tenant) -> None:
    path = f"{SCHEDULES}/{create(tenant)['id']}"
    error = assert_error(send(tenant, "PATCH", path, {"schedule": {"type": "daily"}}), 400,
                         "VALIDATION_ERROR")
    assert "schedule" in error["details"]
    error = assert_error(send(tenant, "PATCH", path, {"name": None}), 400, "VALIDATION_ERROR")
    assert error["details"]
    error = assert_error(send(tenant, "PATCH", path, {"timezone": "Nowhere/Land"}), 400,
                         "VALIDATION_ERROR")
    assert "timezone" in error["details"]


def test_bad_time_ranges_and_unknown_campaigns_are_refused_at_once(world: World) -> None:
    custom = {"export_type": "events", "time_range": "custom", "startDate": "2026-11-10",
              "endDate": "2026-11-01"}
    assert_error(world.tenant.post(SCHEDULES, json=body(export=custom)), 400,
                 "INVALID_TIME_RANGE")
    unknown = {"export_type": "events", "campaign_ids": [world.campaign, "cmp_unknown"]}
    assert_error(world.tenant.post(SCHEDULES, json=body(export=unknown)), 404,
                 "CAMPAIGN_NOT_FOUND")
    mine = create(world.tenant, export={"export_type": "events", "campaign_ids": [world.campaign]})
    assert mine["export"]["campaign_ids"] == [world.campaign]


def test_another_workspaces_schedule_is_not_found(make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    schedule = create(owner)
    path = f"{SCHEDULES}/{schedule['id']}"
    for method, suffix, json in (("GET", "", None), ("PATCH", "", {"name": "Mine now"}),
                                 ("DELETE", "", None), ("POST", "/pause", None),
                                 ("POST", "/resume", None), ("GET", "/runs", None)):
        assert_error(send(stranger, method, path + suffix, json), 404, "SCHEDULE_NOT_FOUND")
    assert stranger.get(SCHEDULES).get_json()["data"] == []
    assert owner.get(path).get_json()["data"] == schedule
