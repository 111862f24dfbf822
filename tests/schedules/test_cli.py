"""`campaign-analytics schedule …` writes the same records as the API, with the same rules."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from campaign_analytics.settings import get_settings
from cli.main import cli
from tests.conftest import Tenant


def run(database_url: str, *args: str) -> Result:
    get_settings.cache_clear()  # DATABASE_URL from this call's environment, not a cached one
    try:
        return CliRunner().invoke(cli, ["schedule", *args], env={"DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()


def test_create_list_show_pause_resume_delete(tenant: Tenant, database_url: str) -> None:
    workspace = ["--workspace", tenant.id]
    made = run(database_url, "create", *workspace, "--name", "Monday leads", "--every", "monday",
               "--at", "09:00", "--timezone", "Europe/Berlin", "--json",
               "--export", '{"export_type": "leads", "time_range": "7d"}')
    assert made.exit_code == 0, made.output
    schedule_id = json.loads(made.output)["schedule_id"]
    shown = tenant.get(f"/export-schedules/{schedule_id}").get_json()["data"]
    assert (shown["schedule"]["cron"], shown["timezone"]) == ("0 9 * * 1", "Europe/Berlin")
    assert json.loads(made.output)["next_run_at"] == shown["next_run_at"]

    listed = run(database_url, "list", *workspace)
    assert listed.output.splitlines() == [
        f"{schedule_id} active 'Monday leads': At 09:00 on Monday (Europe/Berlin), "
        f"next {shown['next_run_at']}"]
    assert " paused " in run(database_url, "pause", *workspace, schedule_id).output
    assert " active " in run(database_url, "resume", *workspace, schedule_id).output
    detail = run(database_url, "show", *workspace, schedule_id).output
    assert '"export_type": "leads"' in detail
    assert run(database_url, "delete", *workspace, schedule_id).exit_code == 0
    gone = run(database_url, "show", *workspace, schedule_id)
    assert gone.exit_code == 2 and f"Export schedule {schedule_id} not found" in gone.output


def test_bad_cadences_and_exports_are_usage_errors(tenant: Tenant, database_url: str) -> None:
    base = ["create", "--workspace", tenant.id, "--name", "Bad",
            "--export", '{"export_type": "leads"}']
    cron = run(database_url, *base, "--cron", "61 * * * *")
    assert cron.exit_code == 2 and "schedule.cron" in cron.output
    neither = run(database_url, *base)
    assert neither.exit_code == 2 and "--every" in neither.output
    export = run(database_url, "create", "--workspace", tenant.id, "--name", "Bad",
                 "--every", "day", "--at", "09:00", "--export", '{"export_type": "all"}')
    assert export.exit_code == 2 and "export.export_type" in export.output
    assert tenant.get("/export-schedules").get_json()["data"] == []
