"""Alembic environment: the models' metadata is the target; the URL comes from code or env."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from campaign_analytics.db import normalize_url
from campaign_analytics.models import Base
from campaign_analytics.settings import get_settings

config = context.config
target_metadata = Base.metadata

if not config.get_main_option("sqlalchemy.url"):
    url = normalize_url(get_settings().require_database_url())
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
