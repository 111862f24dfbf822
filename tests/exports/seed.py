"""A workspace's rows written with plain SQL: every hostile value exactly where a test
wants it, time values on both sides of the window's ends, a deleted campaign and a
neighbouring workspace whose rows must never appear."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from campaign_analytics.db import Database
from campaign_analytics.workspaces import create_workspace
from tests.exports.conftest import END, START, execute, new_id

# Every leading character the formula rule covers, and values that must survive quoting.
DANGEROUS = ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd|' /C calc'!A0", "\tTab first",
             "\rCR first", "\nLF first", "=HYPERLINK(\"http://x\",\"y\")"]
HARMLESS = ['quote " inside', "comma, inside", "multi\nline\r\nvalue", "naïve 日本語 😀",
            "plain", "", " =space first", "'already quoted", "a\\b backslash", "tab\tinside"]
HOSTILE = DANGEROUS + HARMLESS


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


@dataclass
class Seeded:
    workspace_id: str
    campaigns: list[str] = field(default_factory=list)
    deleted_campaign: str = ""
    other_workspace: str = ""


def _campaign(db: Database, workspace_id: str, name: str, deleted: bool = False) -> str:
    cid = new_id("cmp")
    execute(db, "INSERT INTO campaigns (id, workspace_id, name, status, deleted_at) "
                "VALUES (:id, :ws, :name, 'active', CASE WHEN :deleted THEN now() END)",
            id=cid, ws=workspace_id, name=name, deleted=deleted)
    return cid


def _fill(db: Database, workspace_id: str, campaign: str, texts: list[str]) -> None:
    """One lead, message, reply and a few events per text, spread over the window and
    beyond its ends (exactly at START is in, exactly at END is out)."""
    account = new_id("acct")
    execute(db, "INSERT INTO sending_accounts (id, workspace_id, email, domain) "
                "VALUES (:id, :ws, :email, 'sender.io')",
            id=account, ws=workspace_id, email=f"{account}@sender.io")
    last = len(texts) - 1
    edges = {last - 1: END, last - 2: START - timedelta(microseconds=1), last - 3: START,
             last - 4: END - timedelta(microseconds=1)}  # only the 2nd and 3rd are out
    for index, value in enumerate(texts):
        moment = edges.get(index, at(index + 0.123456))
        lead, message = new_id("lead"), new_id("msg")
        execute(db, """
            INSERT INTO leads (id, workspace_id, campaign_id, website_url, website_title,
                contact_email, quality_score, relevance_score, guest_post_likelihood, source,
                status, qualification, account_id, placed_at, qualified_at, created_at)
            VALUES (:id, :ws, :cmp, :url, :title, :email, :q, NULL, 1, :source, 'contacted',
                'pending', :acct, NULL, :qualified, :created)""",
                id=lead, ws=workspace_id, cmp=campaign, url=f"https://example.com/{index}",
                title=value, email=f"e{index}@example.com", q=round(index / 70, 3),
                source=value[:100] or None, acct=account,
                qualified=moment if index % 2 else None, created=moment)
        failed = index == len(texts) - 1
        execute(db, """
            INSERT INTO messages (id, workspace_id, campaign_id, message_id, lead_id,
                account_id, step, variant, subject, recipient, mailbox_provider, sent_at, state)
            VALUES (:id, :ws, :cmp, :mid, :lead, :acct, :step, :variant, :subject,
                'r@gmail.com', 'gmail', :sent, :state)""",
                id=message, ws=workspace_id, cmp=campaign, mid=f"<{message}@x>", lead=lead,
                acct=account, step=-1 if index == 5 else index % 3, variant=value[:50],
                subject=value, sent=None if failed else moment,
                state="failed" if failed else "sent")
        kind = "failed" if failed else "opened"
        execute(db, """
            INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, type,
                occurred_at, bounce_type, reason, url, user_agent, ip)
            VALUES (:ws, :cmp, :mid, :ext, :type, :at, NULL, :reason, :url, :ua, '10.0.0.1')""",
                ws=workspace_id, cmp=campaign, mid=f"<{message}@x>", ext=new_id("ext"),
                type=kind, at=moment, reason=value, url=value or None, ua=value)
        execute(db, """
            INSERT INTO replies (id, workspace_id, campaign_id, message_id, lead_id,
                event_external_id, received_at, "from", subject, body, classification,
                classified_by)
            VALUES (:id, :ws, :cmp, :mid, :lead, :ext, :at, :sender, :subject, :body,
                'replied', 'auto')""",
                id=new_id("rpl"), ws=workspace_id, cmp=campaign, mid=f"<{message}@x>",
                lead=lead, ext=new_id("ext"), at=moment, sender=value[:320] or None,
                subject=value, body=value)


def seed(db: Database) -> Seeded:
    with db.sessions() as session:
        workspace, _ = create_workspace(session, "Exports", "UTC")
        other, _ = create_workspace(session, "Neighbour", "UTC")
    seeded = Seeded(workspace.id, other_workspace=other.id)
    seeded.campaigns = [_campaign(db, workspace.id, "Alpha"),
                        _campaign(db, workspace.id, "=cmd|' /C calc'!A0")]
    seeded.deleted_campaign = _campaign(db, workspace.id, "Gone", deleted=True)
    _fill(db, workspace.id, seeded.campaigns[0], HOSTILE)
    _fill(db, workspace.id, seeded.campaigns[1], ["second", "=2"] * 3)
    _fill(db, workspace.id, seeded.deleted_campaign, ["deleted"] * 5)
    _fill(db, other.id, _campaign(db, other.id, "Theirs"), ["neighbour"] * 5)
    return seeded


def utc(moment: datetime | None) -> str:
    """The export's datetime spelling, computed independently of the code under test."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
