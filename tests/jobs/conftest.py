"""A Redis broker owned by the test, which it can stop and start, and a tenant whose API
publishes to it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from campaign_analytics.devstack.embedded import EmbeddedRedis, start_redis
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, free_port


@dataclass
class OwnBroker:
    port: int
    data_dir: Path
    server: EmbeddedRedis | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server = start_redis(self.data_dir, port=self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart_empty(self) -> None:
        """Stop, lose every key (as a Redis without persistence would), start again."""
        self.stop()
        shutil.rmtree(self.data_dir)
        self.start()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """Not started: the test decides when the broker is up."""
    broker = OwnBroker(free_port(), tmp_path / "redis")
    yield broker
    broker.stop()


@pytest.fixture
def broker_tenant(settings: Settings, make_tenant: Any, own_broker: OwnBroker) -> Tenant:
    from webapi import create_app

    app = create_app(settings.model_copy(update={"redis_url": own_broker.url}))
    registered = make_tenant()
    return Tenant(app.test_client(), registered.id, registered.key)


@pytest.fixture
def broker_env(process_env: dict[str, str], own_broker: OwnBroker) -> dict[str, str]:
    return {**process_env, "REDIS_URL": own_broker.url}
