"""The generated data set: exact size, realistic shape, consistency with ingestion's rules
(SPEC 6 and 11.17-19), reproducibility, and an all-or-nothing load."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.errors import ValidationFailed, WorkspaceNotFound
from campaign_analytics.generator import GenerateReport, generate, generate_dataset, texts
from campaign_analytics.models.vocabulary import EventType
from campaign_analytics.workspaces import create_workspace

END = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
ZONE = "America/New_York"
EVENTS = 20_000
SEED = 11


@dataclass(frozen=True)
class Dataset:
    workspace_id: str
    report: GenerateReport


@pytest.fixture(scope="module")
def dataset(db: Database) -> Dataset:
    """One data set shared by the read-only tests (make_tenant is per test)."""
    with db.sessions() as session:
        workspace, _ = create_workspace(session, "Generated", ZONE)
    return Dataset(workspace.id, generate_dataset(db, workspace.id, EVENTS, SEED, end=END))


def query(db: Database, sql: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def scalar(db: Database, sql: str, **params: Any) -> Any:
    return query(db, sql, **params)[0][0]


# -- size and shape ----------------------------------------------------------------------


def test_writes_the_number_of_events_asked_for(db: Database, dataset: Dataset) -> None:
    stored = scalar(db, "SELECT count(*) FROM email_events WHERE workspace_id = :ws",
                    ws=dataset.workspace_id)
    assert abs(stored - EVENTS) <= EVENTS // 100
    assert stored == dataset.report.events == sum(dataset.report.events_by_type.values())


def test_report_counts_match_the_tables(db: Database, dataset: Dataset) -> None:
    for table, count in dataset.report.rows.items():
        stored = scalar(db, f"SELECT count(*) FROM {table} WHERE workspace_id = :ws",
                        ws=dataset.workspace_id)
        assert stored == count, table
    assert 4 <= dataset.report.rows["campaigns"] <= 12


def test_every_event_type_and_both_bounce_types_appear(db: Database, dataset: Dataset) -> None:
    types = query(db, "SELECT DISTINCT type FROM email_events WHERE workspace_id = :ws",
                  ws=dataset.workspace_id)
    bounces = query(
        db,
        "SELECT DISTINCT bounce_type FROM email_events WHERE workspace_id = :ws"
        " AND type = 'bounced'",
        ws=dataset.workspace_id,
    )
    assert {row[0] for row in types} == {t.value for t in EventType}
    assert {row[0] for row in bounces} == {"hard", "soft"}


def test_bounces_carry_realistic_reasons(db: Database, dataset: Dataset) -> None:
    reasons = {
        row[0]
        for row in query(
            db,
            "SELECT DISTINCT reason FROM email_events WHERE workspace_id = :ws"
            " AND type = 'bounced'",
            ws=dataset.workspace_id,
        )
    }
    assert {"User unknown", "Mailbox full", "Domain not found"} <= reasons


def test_only_orphans_lack_their_message(db: Database, dataset: Dataset) -> None:
    missing = query(
        db,
        "SELECT e.message_id LIKE 'gen%-orphan%' AS orphan, count(*) FROM email_events e"
        " WHERE e.workspace_id = :ws AND NOT EXISTS (SELECT 1 FROM messages m"
        "  WHERE m.workspace_id = e.workspace_id AND m.message_id = e.message_id)"
        " GROUP BY 1",
        ws=dataset.workspace_id,
    )
    by_kind = dict(missing)  # type: ignore[arg-type]
    assert False not in by_kind
    assert 0.002 * EVENTS <= by_kind[True] <= 0.01 * EVENTS
    assert by_kind[True] == dataset.report.orphan_events


def test_nothing_happens_after_end(db: Database, dataset: Dataset) -> None:
    latest = query(
        db,
        "SELECT (SELECT max(occurred_at) FROM email_events WHERE workspace_id = :ws),"
        " (SELECT max(sent_at) FROM messages WHERE workspace_id = :ws),"
        " (SELECT max(received_at) FROM replies WHERE workspace_id = :ws),"
        " (SELECT max(GREATEST(created_at, updated_at, placed_at, qualified_at)) FROM leads"
        "  WHERE workspace_id = :ws),"
        " (SELECT max(created_at) FROM suppressions WHERE workspace_id = :ws),"
        " (SELECT max(updated_at) FROM campaigns WHERE workspace_id = :ws)",
        ws=dataset.workspace_id,
    )[0]
    assert all(moment <= END for moment in latest)


@pytest.mark.parametrize("days", [7, 30, 90])
def test_every_usual_window_has_sends(db: Database, dataset: Dataset, days: int) -> None:
    sends = scalar(
        db,
        "SELECT count(*) FROM email_events WHERE workspace_id = :ws AND type = 'sent'"
        " AND occurred_at > :since",
        ws=dataset.workspace_id,
        since=END - timedelta(days=days),
    )
    assert sends > 0
    oldest = scalar(db, "SELECT min(sent_at) FROM messages WHERE workspace_id = :ws",
                    ws=dataset.workspace_id)
    assert oldest < END - timedelta(days=100)


def test_some_opens_come_days_after_the_send(db: Database, dataset: Dataset) -> None:
    late = scalar(
        db,
        "SELECT count(*) FROM email_events e JOIN messages m"
        " ON m.workspace_id = e.workspace_id AND m.message_id = e.message_id"
        " WHERE e.workspace_id = :ws AND e.type = 'opened'"
        " AND e.occurred_at >= m.sent_at + interval '2 days'",
        ws=dataset.workspace_id,
    )
    assert late > 0


def test_sends_peak_in_office_hours_of_the_workspace_zone(
    db: Database, dataset: Dataset
) -> None:
    office, weekend, total = query(
        db,
        "SELECT count(*) FILTER (WHERE extract(hour FROM sent_at AT TIME ZONE :zone)"
        "   BETWEEN 8 AND 17),"
        " count(*) FILTER (WHERE extract(isodow FROM sent_at AT TIME ZONE :zone) >= 6),"
        " count(*) FROM messages WHERE workspace_id = :ws",
        ws=dataset.workspace_id,
        zone=ZONE,
    )[0]
    assert office > 0.5 * total
    assert weekend < 0.05 * total


def test_opens_and_clicks_carry_user_agents_of_real_clients(
    db: Database, dataset: Dataset
) -> None:
    agents = query(
        db,
        "SELECT type, user_agent, count(*), count(url), count(ip) FROM email_events"
        " WHERE workspace_id = :ws AND type IN ('opened', 'clicked') GROUP BY 1, 2",
        ws=dataset.workspace_id,
    )
    opens = {agent for kind, agent, *_ in agents if kind == "opened"}
    assert texts.APPLE_MPP_AGENT in opens and texts.GMAIL_PROXY_AGENT in opens
    assert all(agent is not None for _, agent, *_ in agents)
    assert all(urls == count for kind, _, count, urls, _ in agents if kind == "clicked")
    assert all(ips == count for _, _, count, _, ips in agents)


def test_mailbox_providers_are_mixed(db: Database, dataset: Dataset) -> None:
    providers = dict(query(  # type: ignore[arg-type]
        db,
        "SELECT mailbox_provider, count(*) FROM messages WHERE workspace_id = :ws GROUP BY 1",
        ws=dataset.workspace_id,
    ))
    assert set(providers) == {"gmail", "outlook", "yahoo", "icloud", "other"}
    assert max(providers.values()) < 0.5 * sum(providers.values())


# -- campaigns, accounts, leads, messages --------------------------------------------------


def _rates_by(db: Database, workspace_id: str, column: str) -> dict[str, dict[str, float]]:
    rows = query(
        db,
        f"SELECT m.{column},"
        " count(*) FILTER (WHERE e.type = 'sent'),"
        " count(*) FILTER (WHERE e.type = 'delivered'),"
        " count(*) FILTER (WHERE e.type = 'bounced'),"
        " count(*) FILTER (WHERE e.type = 'replied')"
        " FROM email_events e JOIN messages m"
        " ON m.workspace_id = e.workspace_id AND m.message_id = e.message_id"
        " WHERE e.workspace_id = :ws GROUP BY 1",
        ws=workspace_id,
    )
    return {
        key: {"sent": sent, "bounce": bounced / sent, "reply": replied / delivered}
        for key, sent, delivered, bounced, replied in rows
        if delivered
    }


def test_campaigns_perform_clearly_differently(db: Database, dataset: Dataset) -> None:
    rates = [r for r in _rates_by(db, dataset.workspace_id, "campaign_id").values()
             if r["sent"] >= 300]
    assert len(rates) >= 3
    assert max(r["reply"] for r in rates) > 2.5 * min(r["reply"] for r in rates)
    assert max(r["bounce"] for r in rates) > 2.5 * min(r["bounce"] for r in rates)


def test_rates_differ_by_provider(db: Database, dataset: Dataset) -> None:
    rates = _rates_by(db, dataset.workspace_id, "mailbox_provider")
    assert rates["yahoo"]["bounce"] > 1.5 * rates["gmail"]["bounce"]


def test_sending_accounts_include_one_blacklisted(db: Database, dataset: Dataset) -> None:
    accounts = query(
        db,
        "SELECT email, domain, ip_address, blacklisted, blacklist_checked_at"
        " FROM sending_accounts WHERE workspace_id = :ws",
        ws=dataset.workspace_id,
    )
    assert len(accounts) >= 4
    assert [a.blacklist_checked_at is not None for a in accounts if a.blacklisted] == [True]
    for account in accounts:
        assert account.domain == account.email.split("@", 1)[1]
        assert ipaddress.ip_address(account.ip_address).version == 4


def test_leads_have_scores_sources_and_some_qualification(
    db: Database, dataset: Dataset
) -> None:
    leads = query(
        db,
        "SELECT qualification, count(*), count(qualified_at), count(source),"
        " min(LEAST(quality_score, relevance_score, guest_post_likelihood)),"
        " max(GREATEST(quality_score, relevance_score, guest_post_likelihood))"
        " FROM leads WHERE workspace_id = :ws GROUP BY 1",
        ws=dataset.workspace_id,
    )
    by_qualification = {row[0]: row for row in leads}
    assert set(by_qualification) == {"pending", "qualified", "disqualified"}
    for qualification, count, qualified_at, sources, lowest, highest in leads:
        assert qualified_at == (count if qualification == "qualified" else 0)
        assert sources == count and lowest >= 0 and highest <= 1


def test_messages_have_follow_ups_and_variants_with_their_own_subjects(
    db: Database, dataset: Dataset
) -> None:
    steps = query(db, "SELECT DISTINCT step FROM messages WHERE workspace_id = :ws",
                  ws=dataset.workspace_id)
    assert {row[0] for row in steps} == {0, 1, 2}
    variants = query(
        db,
        "SELECT campaign_id, variant, array_agg(DISTINCT regexp_replace(subject, ' on .*| for .*',"
        " '')) FROM messages WHERE workspace_id = :ws AND step = 0 GROUP BY 1, 2",
        ws=dataset.workspace_id,
    )
    subjects: dict[str, list[set[str]]] = {}
    for campaign, _, names in variants:
        subjects.setdefault(campaign, []).append(set(names))
    for per_variant in subjects.values():
        assert len(per_variant) >= 2
        assert all(a.isdisjoint(b) for i, a in enumerate(per_variant) for b in per_variant[i + 1:])


def test_message_state_is_its_latest_delivery_event(db: Database, dataset: Dataset) -> None:
    wrong = scalar(
        db,
        "SELECT count(*) FROM messages m WHERE m.workspace_id = :ws AND m.state <> ("
        " SELECT e.type FROM email_events e WHERE e.workspace_id = m.workspace_id"
        " AND e.message_id = m.message_id AND e.type IN ('sent', 'delivered', 'bounced', 'failed')"
        " ORDER BY e.occurred_at DESC LIMIT 1)",
        ws=dataset.workspace_id,
    )
    assert wrong == 0


def test_sent_at_is_the_first_sent_event_as_ingestion_records_it(
    db: Database, dataset: Dataset
) -> None:
    wrong = scalar(
        db,
        "SELECT count(*) FROM messages m WHERE m.workspace_id = :ws AND m.sent_at IS DISTINCT"
        " FROM (SELECT min(e.occurred_at) FROM email_events e WHERE e.workspace_id = :ws"
        " AND e.message_id = m.message_id AND e.type = 'sent')",
        ws=dataset.workspace_id,
    )
    assert wrong == 0


# -- replies, lead statuses and suppressions (SPEC 11.19) ----------------------------------

_LEAD_MESSAGES = (
    "FROM messages m JOIN email_events e"
    " ON e.workspace_id = m.workspace_id AND e.message_id = m.message_id"
    " WHERE m.lead_id = l.id"
)
SENT = f"EXISTS (SELECT 1 {_LEAD_MESSAGES} AND e.type = 'sent')"
HARD_BOUNCE = f"EXISTS (SELECT 1 {_LEAD_MESSAGES} AND e.bounce_type = 'hard')"
POSITIVE = ("EXISTS (SELECT 1 FROM replies r WHERE r.lead_id = l.id"
            " AND r.classification IN ('interested', 'replied'))")
REFUSAL = ("EXISTS (SELECT 1 FROM replies r WHERE r.lead_id = l.id"
           " AND r.classification = 'not_interested')")
SUPPRESSED = ("EXISTS (SELECT 1 FROM suppressions s WHERE s.workspace_id = l.workspace_id"
              " AND s.email = l.contact_email)")
PLACED_AFTER_REPLY = (
    "EXISTS (SELECT 1 FROM replies r WHERE r.lead_id = l.id"
    " AND r.classification IN ('interested', 'replied') AND r.received_at < l.placed_at)"
)

# Each rule: leads breaking it. Together they pin every status to the events behind it.
LEAD_RULES = {
    "discovered leads were never sent anything": f"l.status = 'discovered' AND {SENT}",
    "every other lead was sent something": f"l.status <> 'discovered' AND NOT {SENT}",
    "contacted leads neither hard-bounced nor answered":
        f"l.status = 'contacted' AND ({HARD_BOUNCE} OR {POSITIVE} OR {REFUSAL})",
    "bounced leads hard-bounced": f"l.status = 'bounced' AND NOT {HARD_BOUNCE}",
    "a hard bounce before any answer makes a lead bounced":
        f"{HARD_BOUNCE} AND NOT {POSITIVE} AND NOT {REFUSAL} AND l.status <> 'bounced'",
    "replied leads answered positively and never refused":
        f"l.status = 'replied' AND (NOT {POSITIVE} OR {REFUSAL})",
    "a positive answer makes a lead replied or placed":
        f"{POSITIVE} AND NOT {REFUSAL} AND NOT {HARD_BOUNCE}"
        " AND l.status NOT IN ('replied', 'placed')",
    "placed leads were placed after a positive reply":
        f"l.status = 'placed' AND (l.placed_at IS NULL OR NOT {PLACED_AFTER_REPLY})",
    "only placed leads have placed_at": "l.status <> 'placed' AND l.placed_at IS NOT NULL",
    "lost leads refused and are suppressed":
        f"l.status = 'lost' AND NOT ({REFUSAL} AND {SUPPRESSED})",
    "a refusal makes a lead lost": f"{REFUSAL} AND l.status <> 'lost'",
}


@pytest.mark.parametrize("rule", LEAD_RULES)
def test_lead_statuses_follow_the_ingestion_rules(
    db: Database, dataset: Dataset, rule: str
) -> None:
    breaking = scalar(
        db,
        f"SELECT count(*) FROM leads l WHERE l.workspace_id = :ws AND {LEAD_RULES[rule]}",
        ws=dataset.workspace_id,
    )
    assert breaking == 0


def test_every_lead_status_occurs(db: Database, dataset: Dataset) -> None:
    statuses = query(db, "SELECT DISTINCT status FROM leads WHERE workspace_id = :ws",
                     ws=dataset.workspace_id)
    assert {row[0] for row in statuses} == {
        "discovered", "contacted", "replied", "placed", "lost", "bounced"
    }


def test_replies_match_replied_events_and_are_auto_classified(
    db: Database, dataset: Dataset
) -> None:
    replies = query(
        db,
        "SELECT r.classification, r.classified_by, e.type, e.message_id = r.message_id,"
        " r.body, r.\"from\" = l.contact_email"
        " FROM replies r JOIN leads l ON l.id = r.lead_id"
        " LEFT JOIN email_events e ON e.workspace_id = r.workspace_id"
        "  AND e.external_id = r.event_external_id"
        " WHERE r.workspace_id = :ws",
        ws=dataset.workspace_id,
    )
    assert len(replies) == dataset.report.events_by_type["replied"]
    assert {r[0] for r in replies} == {"interested", "not_interested", "out_of_office", "replied"}
    assert all(r[1:4] == ("auto", "replied", True) and r[4] and r[5] for r in replies)


def test_refusals_are_suppressed(db: Database, dataset: Dataset) -> None:
    unsuppressed = scalar(
        db,
        "SELECT count(*) FROM replies r WHERE r.workspace_id = :ws"
        " AND r.classification = 'not_interested' AND NOT EXISTS (SELECT 1 FROM suppressions s"
        "  WHERE s.workspace_id = r.workspace_id AND s.email = r.\"from\""
        "  AND s.reason = 'not_interested' AND s.created_at <= r.received_at)",
        ws=dataset.workspace_id,
    )
    suppressed = scalar(db, "SELECT count(*) FROM suppressions WHERE workspace_id = :ws",
                        ws=dataset.workspace_id)
    assert unsuppressed == 0 and suppressed > 0


# -- reproducibility and loading ----------------------------------------------------------

_WORKSPACE_TAG = re.compile(r"_g[0-9a-f]{8}s")
DUMPS = {
    "campaigns": "SELECT id, name, description, keywords, status, created_at FROM campaigns",
    "sending_accounts": "SELECT id, email, ip_address, blacklisted FROM sending_accounts",
    "leads": "SELECT id, campaign_id, contact_email, quality_score, status, qualification,"
             " qualified_at, placed_at, created_at, updated_at FROM leads",
    "messages": "SELECT id, lead_id, message_id, step, variant, subject, sent_at, state"
                " FROM messages",
    "email_events": "SELECT campaign_id, message_id, external_id, type, occurred_at, bounce_type,"
                    " reason, url, user_agent, ip FROM email_events",
    "replies": "SELECT id, message_id, event_external_id, received_at, subject, body,"
               " classification FROM replies",
    "suppressions": "SELECT email, reason, created_at FROM suppressions",
}


def _dump(db: Database, workspace_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, with the workspace's part of the ids taken out."""
    def normal(value: Any) -> Any:
        return _WORKSPACE_TAG.sub("_g*s", value) if isinstance(value, str) else value

    return {
        table: sorted(
            tuple(normal(value) for value in row)
            for row in query(db, f"{sql} WHERE workspace_id = :ws", ws=workspace_id)
        )
        for table, sql in DUMPS.items()
    }


def test_the_same_seed_gives_the_same_data(db: Database, make_tenant: Any) -> None:
    first, second = make_tenant("First", ZONE), make_tenant("Second", ZONE)
    for tenant in (first, second):
        generate_dataset(db, tenant.id, 5_000, seed=3, end=END)
    dumps = _dump(db, first.id), _dump(db, second.id)
    assert all(dumps[0][table] for table in DUMPS)
    assert dumps[0] == dumps[1]
    order = "SELECT external_id FROM email_events WHERE workspace_id = :ws ORDER BY id"
    assert query(db, order, ws=first.id) == query(db, order, ws=second.id)


def test_a_seed_is_generated_once_per_workspace_and_seeds_coexist(
    db: Database, make_tenant: Any
) -> None:
    tenant = make_tenant("Seeds", "Asia/Kolkata")
    generate_dataset(db, tenant.id, 1_000, seed=5, end=END)
    with pytest.raises(ValidationFailed, match="seed 5"):
        generate_dataset(db, tenant.id, 1_000, seed=5, end=END)
    generate_dataset(db, tenant.id, 1_000, seed=6, end=END)
    events = scalar(db, "SELECT count(*) FROM email_events WHERE workspace_id = :ws", ws=tenant.id)
    assert events == 2_000


@pytest.mark.parametrize("events", [1, 7, 150])
def test_tiny_data_sets_are_exact(db: Database, make_tenant: Any, events: int) -> None:
    tenant = make_tenant("Tiny")
    report = generate_dataset(db, tenant.id, events, end=END)
    stored = scalar(db, "SELECT count(*) FROM email_events WHERE workspace_id = :ws",
                    ws=tenant.id)
    assert stored == report.events == events
    assert report.rows["campaigns"] >= 4 and report.rows["sending_accounts"] >= 4


def test_bad_arguments_are_refused(db: Database, tenant: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        generate_dataset(db, tenant.id, 0, seed=-1)
    assert set(refused.value.details) == {"events", "seed"}
    with pytest.raises(WorkspaceNotFound):
        generate_dataset(db, "ws_missing", 10)


def test_a_failed_run_leaves_nothing_and_can_be_run_again(
    db: Database, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "BATCH_ROWS", 800)
    tenant = make_tenant("Crash")
    seen: list[int] = []

    def crash(written: int) -> None:
        seen.append(written)
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        generate_dataset(db, tenant.id, 3_000, seed=8, end=END, progress=crash)
    assert seen and seen[0] < 3_000
    for table in DUMPS:
        assert scalar(db, f"SELECT count(*) FROM {table} WHERE workspace_id = :ws",
                      ws=tenant.id) == 0, table

    progress: list[int] = []
    report = generate_dataset(db, tenant.id, 3_000, seed=8, end=END, progress=progress.append)
    assert report.events == 3_000
    assert progress == sorted(progress) and progress[-1] == 3_000 and len(progress) > 1


def test_vocabulary_needs_no_copy_escaping() -> None:
    """The writer escapes free text only; everything else it writes comes from here."""
    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for item in value.items() for s in strings(item)]
        if isinstance(value, tuple | list):
            return [s for item in value for s in strings(item)]
        if hasattr(value, "__dataclass_fields__"):
            return [s for name in value.__dataclass_fields__ for s in strings(getattr(value, name))]
        return []

    vocabulary = [
        s for name, value in vars(texts).items()
        if name.isupper() and name != "REPLY_TEXTS" for s in strings(value)
    ]
    assert vocabulary
    assert not [s for s in vocabulary if any(c in s for c in "\t\n\r\\")]
