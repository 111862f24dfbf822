"""The rules file's loader refuses what would break or fool the refresh, and the SQL the
rules become reads addresses the way ``ipaddress`` does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.engagement.rules import RULES_FILE, RulesError, load_rules, parse_rules
from campaign_analytics.engagement.sql import CLIENTS, client_sql, clients_sql


def document(**changes: Any) -> dict[str, Any]:
    agent = {"pattern": "Proofpoint", "verdict": "machine", "reason": "scanner_user_agent",
             "applies_to": ["clicked"], "source": "a test"}
    network = {"cidr": "17.0.0.0/8", "verdict": "machine", "reason": "apple_mpp",
               "applies_to": ["opened"], "source": "a test"}
    return {"version": "t1", "timing": {"click_too_fast_seconds": 2},
            "agents": [changes.pop("agent", agent)], "networks": [changes.pop("network", network)],
            **changes}


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"agent": {"pattern": "Proof(point"}}, "unterminated"),
    ({"agent": {"pattern": "a)("}}, "unbalanced"),
    ({"agent": {"pattern": "Safe|"}}, "matches an empty user agent"),
    ({"agent": {"pattern": "()"}}, "matches an empty user agent"),
    ({"agent": {"pattern": "Safe.*Links"}}, "uses more than words"),
    ({"network": {"cidr": "17.0.0.0/33"}}, "networks[0]"),
    ({"network": {"cidr": "2a01:b740::/48"}}, "/16 or /32"),
    ({"version": ""}, "version"),
    ({"version": "x" * 31}, "version"),
    ({"timing": {"click_too_fast_seconds": float("inf")}}, "seconds"),
    ({"timing": {"links_at_once_seconds": -1}}, "seconds"),
    ({"agent": {"verdict": "maybe"}}, "verdict"),
    ({"agent": {"reason": "Apple MPP"}}, "snake_case"),
    ({"agent": {"applies_to": ["replied"]}}, "applies_to"),
])
def test_a_bad_rules_file_is_refused(changes: dict[str, Any], complaint: str) -> None:
    base = document()
    for key in ("agent", "network"):
        if key in changes:
            base[f"{key}s"] = [{**base[f"{key}s"][0], **changes.pop(key)}]
    base.update(changes)
    with pytest.raises(RulesError, match=re.escape(complaint)):
        parse_rules(base)


def test_a_reason_cannot_have_two_verdicts() -> None:
    base = document()
    base["networks"][0]["reason"] = "scanner_user_agent"
    base["networks"][0]["verdict"] = "human"
    with pytest.raises(RulesError, match="two verdicts"):
        parse_rules(base)


def test_an_edit_without_a_new_version_still_changes_the_fingerprint(tmp_path: Path) -> None:
    content = RULES_FILE.read_text()
    (tmp_path / "first.toml").write_text(content)
    (tmp_path / "edited.toml").write_text(
        content.replace("click_too_fast_seconds = 2", "click_too_fast_seconds = 3"))
    first = load_rules(tmp_path / "first.toml").fingerprint
    edited = load_rules(tmp_path / "edited.toml").fingerprint
    assert first == load_rules().fingerprint
    assert first != edited and first.split("#")[0] == edited.split("#")[0]


@pytest.mark.parametrize(("kind", "user_agent", "ip", "method", "reason"), [
    ("opened", None, "17.58.1.1", None, "apple_mpp"),
    ("opened", None, "::ffff:17.58.1.1", None, "apple_mpp"),        # IPv4-mapped IPv6
    ("opened", None, "::FFFF:17.58.1.1", None, "apple_mpp"),
    ("opened", None, "16.255.255.999", None, "person"),              # no address: octet > 255
    ("opened", None, "17.58.1.1.5", None, "person"),
    ("opened", None, "1.2.3", None, "person"),
    ("opened", None, "not an address", None, "person"),
    ("clicked", None, "17.58.1.1", None, "person"),                  # MPP is about opens
    ("clicked", "Mozilla/5.0 (compatible; Proofpoint URL Defense)", None, None,
     "scanner_user_agent"),
    ("clicked", "it's a 'quoted' agent", "84.1.1.1", "HEAD", "head_request"),
    ("opened", None, None, None, "no_client_data"),
    ("opened", "GoogleImageProxy", "17.58.1.1", None, "gmail_image_proxy"),  # people first
])
def test_the_sql_reads_what_an_event_carries(
    db: Database, kind: str, user_agent: str | None, ip: str | None, method: str | None,
    reason: str
) -> None:
    rules = load_rules()
    event = ("(SELECT CAST(:type AS text) AS type, CAST(:ua AS text) AS user_agent, "
             "CAST(:ip AS text) AS ip, CAST(:method AS text) AS http_method)")
    values = {"type": kind, "ua": user_agent, "ip": ip, "method": method}
    with db.engine.connect() as conn:
        conn.execute(text(clients_sql(rules, f"SELECT user_agent, ip FROM {event} e")), values)
        code = conn.execute(text(f"SELECT {client_sql(rules)} FROM {event} e {CLIENTS}"),
                            values).scalar_one()
        conn.rollback()
    assert rules.reasons[code][0] == reason
