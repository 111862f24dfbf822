"""Alembic from empty reproduces the models exactly, and downgrades cleanly."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, make_url, text

from campaign_analytics.db import normalize_url
from campaign_analytics.migrate import alembic_config, upgrade
from campaign_analytics.models import Base


@pytest.fixture
def make_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    admin = make_url(postgres_admin_url).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    names: list[str] = []

    def make() -> str:
        name = f"ca_migr_{secrets.token_hex(4)}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return make_url(postgres_admin_url).set(database=name).render_as_string(
            hide_password=False)

    yield make
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database(make_database: Callable[[], str]) -> str:
    return make_database()


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


SCHEMA = {
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "defaults": """
        SELECT table_name, column_name, column_default, is_nullable, data_type
        FROM information_schema.columns WHERE table_schema = 'public'
          AND table_name <> 'alembic_version'""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
               " AND tablename <> 'alembic_version'",
}


def _schema(url: str) -> dict[str, set[tuple[object, ...]]]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        found = {name: {tuple(row) for row in conn.execute(text(sql))}
                 for name, sql in SCHEMA.items()}
    engine.dispose()
    found["constraints"] = {row for row in found["constraints"] if row[0] != "alembic_version"}
    return found


def test_checks_defaults_and_indexes_match_the_models_exactly(
    make_database: Callable[[], str],
) -> None:
    """Autogenerate ignores CHECK constraints and server defaults; compare them directly."""
    migrated, created = make_database(), make_database()
    upgrade(migrated)
    engine = create_engine(normalize_url(created))
    Base.metadata.create_all(engine)
    engine.dispose()
    assert _schema(migrated) == _schema(created)


WIDE_VERDICTS = """
INSERT INTO workspaces (id, name) VALUES ('wsp_a', 'A');
INSERT INTO campaigns (id, workspace_id, name) VALUES ('cmp_a', 'wsp_a', 'A');
INSERT INTO email_events (id, workspace_id, campaign_id, message_id, external_id, type,
                          occurred_at)
SELECT n, 'wsp_a', 'cmp_a', 'm', 'x' || n, 'opened', now() FROM generate_series(1, 3) n;
INSERT INTO event_verdicts VALUES (1, 'wsp_a', 'cmp_a', 'machine', 'apple_mpp'),
    (2, 'wsp_a', 'cmp_a', 'human', 'person'), (3, 'wsp_a', 'cmp_a', 'machine', 'apple_mpp')
"""


def test_verdicts_keep_their_names_through_narrowing_and_back(empty_database: str) -> None:
    """0011 numbers the stored verdicts (verdict_reasons) and its downgrade names them again
    with their event's workspace and campaign; deleting an event deletes its verdict."""
    from alembic import command

    config = alembic_config(empty_database)
    command.upgrade(config, "0010")
    engine = create_engine(normalize_url(empty_database))
    named = ("SELECT v.event_id, r.verdict, r.reason FROM event_verdicts v "
             "JOIN verdict_reasons r ON r.id = v.reason_id ORDER BY 1")
    wide = "SELECT event_id, workspace_id, campaign_id, verdict, reason FROM event_verdicts"
    try:
        with engine.begin() as conn:
            conn.execute(text(WIDE_VERDICTS))
            before = set(conn.execute(text(wide)))
        command.upgrade(config, "0011")
        with engine.begin() as conn:
            assert [tuple(row) for row in conn.execute(text(named))] == [
                (1, "machine", "apple_mpp"), (2, "human", "person"), (3, "machine", "apple_mpp")]
            assert conn.execute(text("SELECT count(*) FROM verdict_reasons")).scalar() == 2
            conn.execute(text("DELETE FROM email_events WHERE id = 3"))
            assert [row[0] for row in conn.execute(text(named))] == [1, 2]
        command.downgrade(config, "0010")
        with engine.begin() as conn:
            assert set(conn.execute(text(wide))) == {row for row in before if row[0] != 3}
            conn.execute(text("DELETE FROM campaigns"))
            assert conn.execute(text("SELECT count(*) FROM event_verdicts")).scalar() == 0
    finally:
        engine.dispose()


PER_LEAD = """
INSERT INTO workspaces (id, name) VALUES ('wsp_a', 'A');
INSERT INTO campaigns (id, workspace_id, name)
VALUES ('cmp_a', 'wsp_a', 'A'), ('cmp_b', 'wsp_a', 'B');
INSERT INTO refresh_state (workspace_id, watermark, as_of, refreshed_at, engagement_rules)
VALUES ('wsp_a', 10, now(), now(), 'rules-1');
INSERT INTO rollup_lead_messages (campaign_id, lead_id, workspace_id, sent, failed) VALUES
    ('cmp_a', 'l1', 'wsp_a', 2, 0), ('cmp_a', 'l2', 'wsp_a', 1, 1), ('cmp_a', 'l3', 'wsp_a', 0, 2),
    ('cmp_a', 'l4', 'wsp_a', 0, 0), ('cmp_b', 'l5', 'wsp_a', 3, 0)
"""


def test_per_lead_rows_become_campaign_counts_and_a_downgrade_rebuilds(
    empty_database: str,
) -> None:
    """0013 sums the per-lead rows per campaign exactly; its downgrade cannot split the sums
    again, so it makes the next refresh rebuild (another rules fingerprint)."""
    from alembic import command

    config = alembic_config(empty_database)
    command.upgrade(config, "0012")
    engine = create_engine(normalize_url(empty_database))
    counts = ("SELECT campaign_id, workspace_id, sent, failed, only_sent, only_failed, partial "
              "FROM rollup_campaign_leads ORDER BY 1")
    try:
        with engine.begin() as conn:
            conn.execute(text(PER_LEAD))
        command.upgrade(config, "0013")
        with engine.begin() as conn:
            assert [tuple(row) for row in conn.execute(text(counts))] == [
                ("cmp_a", "wsp_a", 3, 3, 1, 1, 1), ("cmp_b", "wsp_a", 3, 0, 1, 0, 0)]
            conn.execute(text("DELETE FROM campaigns WHERE id = 'cmp_b'"))
            assert [row[0] for row in conn.execute(text(counts))] == ["cmp_a"]
        command.downgrade(config, "0012")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM rollup_lead_messages")).scalar() == 0
            assert conn.execute(text(
                "SELECT engagement_rules FROM refresh_state")).scalar() == ""
    finally:
        engine.dispose()
