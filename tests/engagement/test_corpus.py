"""The rules against a labelled corpus of opens and clicks (tests/engagement/corpus.jsonl:
user agents, addresses, HTTP methods and timings, each label with its source), judged the
way production judges them: ingested through the API, classified by a full refresh, the
verdicts read back from ``event_verdicts``. Precision of ``machine`` must stay at 0.99 or
more (never call a person a machine), recall at 0.9 or more."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.engagement.rules import load_rules
from campaign_analytics.exports.spec import ExportFormat, ExportType
from campaign_analytics.exports.storage import LocalStorage
from tests.engagement.stored import NAMED_VERDICTS
from tests.exports.conftest import params, run_export
from tests.world import World

CORPUS = Path(__file__).with_name("corpus.jsonl")
DELIVERED_AFTER = timedelta(seconds=5)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def load_corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def corpus_events(world: World, lines: list[dict[str, Any]], sent_at: datetime
                  ) -> list[dict[str, Any]]:
    """Each corpus message sent and delivered, then its opens and clicks at their timings."""
    lead = world.lead()
    delivered_at = sent_at + DELIVERED_AFTER
    events: list[dict[str, Any]] = []
    for message in sorted({line["message"] for line in lines}):
        events.append({**world.sent(message, lead), "occurred_at": iso(sent_at)})
        events.append({**world.event("delivered", message, 0), "occurred_at": iso(delivered_at)})
    for line in lines:
        at = delivered_at + timedelta(seconds=line["seconds_after_delivery"])
        fields = {name: line[source] for name, source in (
            ("user_agent", "user_agent"), ("ip", "ip"), ("http_method", "method"),
            ("url", "url")) if line.get(source) is not None}
        events.append({**world.event(line["type"], line["message"], 0), "occurred_at": iso(at),
                       "external_id": f"corpus-{line['id']}", **fields})
    return events


@pytest.fixture(scope="module")
def corpus_workspace(app: Any, db: Database) -> str:
    """A workspace holding the corpus, judged by a full refresh."""
    from campaign_analytics.workspaces import create_workspace
    from tests.conftest import Tenant

    with db.sessions() as session:
        workspace, key = create_workspace(session, "Corpus", "UTC")
    tenant = Tenant(app.test_client(), workspace.id, key)
    campaign = tenant.post("/campaigns", json={"name": "Corpus"}).get_json()["data"]["id"]
    account = tenant.post("/accounts", json={"email": "corpus@sender.io"}).get_json()
    world = World(tenant, campaign, account["data"]["id"])
    events = corpus_events(world, load_corpus(), datetime.now(UTC) - timedelta(days=10))
    for start in range(0, len(events), 1000):
        result = world.post(events[start:start + 1000])
        assert not result["rejected"], result["rejected"][:3]
    refresh(db, workspace.id, RefreshMode.FULL)
    return str(workspace.id)


@pytest.fixture(scope="module")
def judged(corpus_workspace: str, db: Database) -> dict[str, tuple[str, str]]:
    """corpus id → (verdict, reason) as stored by the refresh."""
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT e.external_id, v.verdict, v.reason FROM {NAMED_VERDICTS} v "
            "JOIN email_events e ON e.id = v.event_id WHERE v.workspace_id = :ws"),
            {"ws": corpus_workspace})
        return {external.removeprefix("corpus-"): (verdict, reason)
                for external, verdict, reason in rows}


def test_the_corpus_is_big_varied_and_sourced() -> None:
    lines = load_corpus()
    assert len(lines) >= 300
    assert {line["type"] for line in lines} == {"opened", "clicked"}
    assert all(line["label"] in ("human", "machine") and line["label_source"]
               for line in lines)
    labels = Counter(line["label"] for line in lines)
    assert min(labels.values()) >= 100
    rules = load_rules()
    used = {line["expected_reason"] for line in lines}
    assert {reason for reason, _ in rules.reasons} <= used | {"unknown"}, "an untested reason"


def test_machine_verdicts_are_precise_and_catch_most_machines(
    judged: dict[str, tuple[str, str]]
) -> None:
    lines = load_corpus()
    assert set(judged) == {line["id"] for line in lines}, "every open and click is judged"
    counts = Counter()
    for line in lines:
        machine = judged[line["id"]][0] == "machine"
        counts[(line["label"], machine)] += 1
    true_machine, false_machine = counts[("machine", True)], counts[("human", True)]
    missed = counts[("machine", False)]
    precision = true_machine / (true_machine + false_machine)
    recall = true_machine / (true_machine + missed)
    print(f"\ncorpus: {len(lines)} events; machine precision {precision:.4f}, "
          f"recall {recall:.4f} ({true_machine} caught, {false_machine} people called "
          f"machines, {missed} machines missed)")
    for reason, number in sorted(Counter(judged[line["id"]][1] for line in lines).items()):
        print(f"  {reason}: {number}")
    assert precision >= 0.99
    assert recall >= 0.9


def test_each_event_gets_the_reason_its_label_expects(
    judged: dict[str, tuple[str, str]]
) -> None:
    """The reason, not only the verdict: a machine caught by the wrong rule is a rule that
    would fail the day the right one changes."""
    wrong = [(line["id"], line["expected_reason"], judged[line["id"]][1])
             for line in load_corpus() if judged[line["id"]][1] != line["expected_reason"]]
    assert wrong == []


def test_the_events_export_carries_each_verdict_and_reason(
    corpus_workspace: str, judged: dict[str, tuple[str, str]], db: Database, tmp_path: Path
) -> None:
    lines = {line["id"]: line for line in load_corpus()}
    start = datetime.now(UTC) - timedelta(days=30)
    done = run_export(db, LocalStorage(tmp_path), corpus_workspace, params(
        ExportType.EVENTS, ExportFormat.JSONL, start=start, end=datetime.now(UTC)))
    exported = [json.loads(row) for row in done.data.decode().splitlines()]
    engaged = {row["external_id"].removeprefix("corpus-"): row for row in exported
               if row["type"] in ("opened", "clicked")}
    assert set(engaged) == set(lines)
    for corpus_id, row in engaged.items():
        assert (row["verdict"], row["verdict_reason"]) == judged[corpus_id]
        assert row["http_method"] == lines[corpus_id].get("method")
    assert all(row["verdict"] is None for row in exported
               if row["type"] not in ("opened", "clicked"))
