"""The fault suite reuses the job tests' own broker: a Redis the test starts and stops."""

from tests.jobs.conftest import broker_env, broker_tenant, own_broker

__all__ = ["broker_env", "broker_tenant", "own_broker"]
