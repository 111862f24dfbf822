"""The job row: the outbox, the lease and the one source of truth for every async job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column, one_of
from .vocabulary import JobStatus


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        one_of("status", JobStatus),
        Index("ix_jobs_workspace_created", "workspace_id", "created_at", "id"),
        Index(
            "uq_jobs_workspace_kind_idempotency_key",
            "workspace_id",
            "kind",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # The sweeper's scan: only unfinished jobs, so it stays small however long history is.
        Index(
            "ix_jobs_unfinished",
            "status",
            "published_at",
            postgresql_where=text("status IN ('queued', 'processing')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), server_default=JobStatus.QUEUED.value)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # When the current attempt was claimed: with the lease it tells the sweeper an attempt
    # was still alive at its hard time limit (killed by it, not merely crashed).
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by a worker shutting down gracefully: its attempt stops and hands the job back.
    release_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    file_key: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
