"""Settings refuse combinations that would lose or duplicate work, or run insecurely."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from campaign_analytics.db import normalize_url
from campaign_analytics.settings import Settings


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(app_env="production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(app_env="production", secret_key="short")
    key = "a-long-enough-production-key"
    assert Settings(app_env="production", secret_key=key).secret_key == key


def test_visibility_timeout_must_outlast_the_hard_limit_and_backoff() -> None:
    with pytest.raises(ValidationError, match="VISIBILITY_TIMEOUT"):
        Settings(task_time_limit_seconds=7000, task_soft_time_limit_seconds=6000,
                 broker_visibility_timeout_seconds=7200)


def test_soft_limit_must_precede_the_hard_limit() -> None:
    with pytest.raises(ValidationError, match="SOFT_TIME_LIMIT"):
        Settings(task_soft_time_limit_seconds=100, task_time_limit_seconds=100)


def test_the_lease_must_be_short_beside_the_hard_limit() -> None:
    """Else the sweeper would take every crash for a kill at the hard limit."""
    with pytest.raises(ValidationError, match="JOB_LEASE_SECONDS"):
        Settings(job_lease_seconds=31, task_time_limit_seconds=60,
                 task_soft_time_limit_seconds=50)
    Settings(job_lease_seconds=30, task_time_limit_seconds=60, task_soft_time_limit_seconds=50)


def test_sweeper_must_not_republish_jobs_waiting_for_their_retry() -> None:
    with pytest.raises(ValidationError, match="REDELIVER"):
        Settings(job_redeliver_after_seconds=100, retry_backoff_max_seconds=300)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_LEASE_SECONDS", "42")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.job_lease_seconds == 42
    assert settings.database_url == "postgresql://u@h/db"


@pytest.mark.parametrize("url", ["postgresql://u:p@h:5/d", "postgresql+psycopg://u:p@h:5/d"])
def test_both_postgres_url_forms_are_accepted(url: str) -> None:
    assert normalize_url(url).drivername == "postgresql+psycopg"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        normalize_url("mysql://u@h/d")
