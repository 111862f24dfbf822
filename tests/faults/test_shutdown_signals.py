"""A second shutdown signal that lands while the first is still flagging the node's jobs
must not run the hand-back again from inside it: that re-enters the database driver's
locks and hangs the worker's main process until SIGKILL (seen: a worker given SIGTERM by
its test's teardown and again by PR_SET_PDEATHSIG, stuck in SQLAlchemy's first connect)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from campaign_analytics.db import Database
from campaign_analytics.jobs import store
from worker.shutdown import hand_back_receiver


def test_a_signal_during_the_hand_back_does_not_run_it_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = hand_back_receiver(db)
    calls: list[str] = []

    def request_hand_back(session: Session, worker: str) -> list[str]:
        calls.append(worker)
        if len(calls) == 1:  # the second SIGTERM arrives mid-statement
            receiver(sender="leaving@h", how="Warm")
        return []

    monkeypatch.setattr(store, "request_hand_back", request_hand_back)
    receiver(sender="leaving@h", how="Warm")
    receiver(sender="leaving@h", how="Cold")
    assert calls == ["leaving@h"]

