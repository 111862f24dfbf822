"""The one settings object, read from the environment once (12-factor).

Every variable is documented in the README's configuration table; nothing else in the
code base reads ``os.environ`` for configuration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
MIN_SECRET_KEY_LENGTH = 16
CRON_FIELDS = 5

LogFormat = Literal["json", "text"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    app_env: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET_KEY
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("var")
    port: int = 8000
    log_level: str = "INFO"
    # One JSON object a line (for log shippers), or text for a person reading a terminal.
    log_format: LogFormat = "json"
    # Set for gunicorn with several workers, so /metrics sums them (prometheus-client reads it).
    prometheus_multiproc_dir: Path | None = None
    # The worker's main process serves its children's job metrics on this port (needs
    # PROMETHEUS_MULTIPROC_DIR: the children record there). Unset: no server.
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)

    web_concurrency: int = Field(2, ge=1)
    worker_concurrency: int = Field(2, ge=1)

    # Jobs: lease, retries, sweeper.
    job_lease_seconds: int = Field(30, ge=2)
    job_max_attempts: int = Field(5, ge=1)
    job_republish_after_seconds: int = Field(5, ge=1)
    job_redeliver_after_seconds: int = Field(600, ge=10)
    sweeper_interval_seconds: float = Field(15, gt=0)
    retry_backoff_max_seconds: int = Field(300, ge=1)

    # Celery limits. The visibility timeout must outlast both, or Redis hands a running
    # task to a second worker (see docs/reliability.md).
    task_soft_time_limit_seconds: int = Field(3300, ge=1)
    task_time_limit_seconds: int = Field(3600, ge=2)
    broker_visibility_timeout_seconds: int = Field(7200, ge=60)

    # Rate limits: requests per workspace per minute, by category (SPEC §4). The counters
    # live in Redis so every API process shares them; the URL defaults to REDIS_URL.
    rate_limits_enabled: bool = True
    rate_limit_storage_url: str | None = None
    rate_limit_key_prefix: str = Field("ratelimit", min_length=1)
    rate_limit_campaign_analytics: int = Field(100, ge=1)
    rate_limit_overview: int = Field(60, ge=1)
    rate_limit_deliverability: int = Field(30, ge=1)
    rate_limit_exports: int = Field(10, ge=1)
    rate_limit_default: int = Field(300, ge=1)

    # Refresh schedule (beat, UTC): a full rebuild by cron expression (minute hour
    # day-of-month month day-of-week), an incremental refresh every N seconds.
    refresh_full_cron: str = "0 2 * * *"
    refresh_incremental_seconds: float = Field(300, gt=0)

    # Exports (SPEC §8, §11.31). STORAGE_URL: file:///path (default DATA_DIR/exports) or
    # s3://bucket/prefix with the usual AWS_* variables and S3_ENDPOINT_URL for
    # S3-compatible stores. Download links are signed with SECRET_KEY; keys in
    # DOWNLOAD_OLD_SECRET_KEYS (comma-separated) still verify, so a key can be rotated.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    download_url_ttl_seconds: int = Field(3600, ge=1)
    download_old_secret_keys: str = ""
    export_retention_days: float = Field(7, gt=0)
    export_max_processing_per_workspace: int = Field(3, ge=1)
    export_idempotency_hours: float = Field(24, gt=0)
    # How often beat looks for due export schedules (docs/schedules.md): a run is made at
    # most this many seconds after its slot.
    export_schedule_tick_seconds: float = Field(30, gt=0)

    # Webhooks (docs/webhooks.md). URLs resolving to loopback, private, link-local or other
    # non-public addresses are refused unless WEBHOOK_ALLOW_PRIVATE_URLS (tests, development).
    # Secrets are stored encrypted under WEBHOOK_SECRET_KEYS (comma-separated, the first
    # encrypts, all decrypt: rotation), default SECRET_KEY. Failed deliveries are retried
    # after BASE seconds, doubling up to MAX, WEBHOOK_MAX_ATTEMPTS attempts in all.
    webhook_allow_private_urls: bool = False
    webhook_secret_keys: str | None = None
    webhook_tick_seconds: float = Field(10, gt=0)
    webhook_backoff_base_seconds: float = Field(30, gt=0)
    webhook_backoff_max_seconds: float = Field(4 * 3600, gt=0)
    webhook_max_attempts: int = Field(15, ge=1)

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.app_env == "production" and (
            self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH
        ):
            raise ValueError(
                f"SECRET_KEY must be set (at least {MIN_SECRET_KEY_LENGTH} characters) "
                "when APP_ENV=production"
            )
        if self.task_soft_time_limit_seconds >= self.task_time_limit_seconds:
            raise ValueError("TASK_SOFT_TIME_LIMIT_SECONDS must be below TASK_TIME_LIMIT_SECONDS")
        if 2 * self.job_lease_seconds > self.task_time_limit_seconds:
            # The sweeper tells a kill at the hard limit from a crash by the lease outliving
            # the limit; a lease that long would turn ordinary crashes into time-outs.
            raise ValueError("JOB_LEASE_SECONDS must be at most half TASK_TIME_LIMIT_SECONDS")
        longest_hold = self.task_time_limit_seconds + self.retry_backoff_max_seconds
        if self.broker_visibility_timeout_seconds <= longest_hold:
            raise ValueError(
                "BROKER_VISIBILITY_TIMEOUT_SECONDS must exceed TASK_TIME_LIMIT_SECONDS + "
                f"RETRY_BACKOFF_MAX_SECONDS ({longest_hold})"
            )
        if self.job_redeliver_after_seconds <= self.retry_backoff_max_seconds:
            raise ValueError(
                "JOB_REDELIVER_AFTER_SECONDS must exceed RETRY_BACKOFF_MAX_SECONDS, or the "
                "sweeper would republish jobs that are only waiting for their retry"
            )
        if len(self.refresh_full_cron.split()) != CRON_FIELDS:
            raise ValueError(
                "REFRESH_FULL_CRON must have 5 fields: minute hour day-of-month month "
                "day-of-week (e.g. '0 2 * * *')"
            )
        return self

    @model_validator(mode="after")
    def _check_worker_metrics(self) -> Settings:
        if self.worker_metrics_port is not None and self.prometheus_multiproc_dir is None:
            raise ValueError(
                "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: the worker's processes "
                "record their metrics there for the main process to serve"
            )
        return self

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (campaign-analytics up sets it for you)")
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("REDIS_URL is not set (campaign-analytics up sets it for you)")
        return self.redis_url

    def require_rate_limit_storage_url(self) -> str:
        return self.rate_limit_storage_url or self.require_redis_url()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
