"""Alembic from empty reproduces the models exactly, and downgrades cleanly."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, make_url

from campaign_analytics.db import normalize_url
from campaign_analytics.migrate import alembic_config, upgrade
from campaign_analytics.models import Base


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"ca_migr_{secrets.token_hex(4)}"
    admin = make_url(postgres_admin_url).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _differences(url: str) -> list[object]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_upgrade_from_empty_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    assert _differences(empty_database) == []


def test_downgrade_to_base_and_up_again(empty_database: str) -> None:
    from alembic import command

    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "base")
    upgrade(empty_database)
    assert _differences(empty_database) == []
