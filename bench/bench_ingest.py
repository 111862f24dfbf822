"""Ingestion throughput: ``ingest`` of a file and ``POST /events``, each beside a bare COPY.

In one run, on one throw-away database (``ca_bench_<hex>``, dropped at the end):

* **bare COPY** — the same rows as they land in ``email_events`` (same columns), COPied from
  a CSV file into a plain table without indexes: the floor any ingestion path is held to.
  It runs right before each measured path, followed by two informative references (skip
  them with ``--no-indexed-baseline``): the same COPY into a table with only the unique
  ``(workspace_id, external_id)`` key that idempotency needs, and into a twin of
  ``email_events`` as migrated (its indexes and foreign key). A path's ratio to the bare COPY
  is bounded by the key-only one's (every path writes at least those rows and that key);
  "vs idx" is its ratio to the twin.
* **cli** — ``ingest_file`` (exactly what ``campaign-analytics ingest`` runs) on a JSON Lines
  file of N synthetic events (default 1,000,000): parsing, reference checks, staging COPY,
  ``INSERT … ON CONFLICT``, messages, replies (auto-classified), lead moves.
* **http** — gunicorn serving ``webapi:create_app()``; 2 to 4 client threads POST the events of
  another workspace in batches of 5,000. Two sync workers on two cores: one workspace's
  writes take turns under its ingest lock, so one worker writes while the other parses and
  stages the next request; a third worker only adds CPU contention (measured 2026-11-29).

Events are a realistic mix per message (sent or failed; delivered or bounced; opens, clicks,
replies with short bodies, a few complaints and unsubscribes), spread over the past 60
days and sorted by time, 4+ follow-up steps per lead. Prints events/s, the ratio to the bare
COPY and peak RSS (the measuring process; for http also the gunicorn workers), then checks
the stored counts so a fast-but-wrong run shows. Run:

    .venv/bin/python bench/bench_ingest.py [--events N] [--skip-cli] [--skip-http]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests
from _common import (
    PeakRss,
    default_admin_url,
    free_port,
    max_rss_mb,
    scratch_database,
    self_pid,
    sigterm_as_exit,
    timed,
    wait_ready,
)
from sqlalchemy import text

from campaign_analytics.accounts import AccountFields, create_account
from campaign_analytics.campaigns import CampaignFields, create_campaign
from campaign_analytics.db import Database
from campaign_analytics.ingestion.files import FILE_BATCH, ingest_file
from campaign_analytics.leads import LeadFields, create_leads
from campaign_analytics.workspaces import create_workspace

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
EVENT_COLUMNS = ("workspace_id", "campaign_id", "message_id", "external_id", "type",
                 "occurred_at", "bounce_type", "reason", "url", "user_agent", "ip")
PLAIN_TABLE = """
CREATE TABLE bench_plain_events (
    workspace_id varchar(40) NOT NULL, campaign_id varchar(40) NOT NULL,
    message_id varchar(200) NOT NULL, external_id varchar(200) NOT NULL,
    type varchar(16) NOT NULL, occurred_at timestamptz NOT NULL, bounce_type varchar(8),
    reason text, url text, user_agent text, ip varchar(45)
)
"""
# Two informative references: the same COPY into a table with only the unique key that
# idempotency by external_id needs (what any path that stores each event once must write),
# and into a twin of email_events as migrated (indexes, identity, defaults, checks and its
# one foreign key), i.e. what the events table alone costs.
KEYED_TABLE = """
CREATE TABLE bench_keyed_events (LIKE email_events INCLUDING DEFAULTS INCLUDING IDENTITY);
CREATE UNIQUE INDEX ON bench_keyed_events (workspace_id, external_id)
"""
INDEXED_TABLE = """
CREATE TABLE bench_indexed_events (LIKE email_events INCLUDING ALL);
ALTER TABLE bench_indexed_events ADD FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
"""


@dataclass(frozen=True)
class Target:
    """A table the generated rows are COPied into for a reference figure."""

    name: str
    table: str
    ddl: str


PLAIN = Target("bare COPY", "bench_plain_events", PLAIN_TABLE)
KEYED = Target("COPY unique key", "bench_keyed_events", KEYED_TABLE)
INDEXED = Target("COPY indexed twin", "bench_indexed_events", INDEXED_TABLE)
CAMPAIGNS = 4
EVENTS_PER_LEAD = 12  # about 4 messages of ~2.8 events each
DAY = 86_400.0

DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com",
           "techblog.io", "gardening-weekly.com", "travelnotes.net", "devjournal.org")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
)
REPLIES = (
    ("Sounds good, send me a draft.", 5),
    ("Yes, we accept guest posts. What topics do you have in mind?", 3),
    ("Not interested, please remove me from your list.", 3),
    ("I am out of the office until Monday with limited access to e-mail.", 2),
    ("Who gave you this address?", 1),
)
BOUNCES = (("hard", "550 5.1.1 The email account that you tried to reach does not exist"),
           ("soft", "452 4.2.2 The recipient's mailbox is full"))


@dataclass(frozen=True)
class Fixture:
    """One workspace's campaigns, account and leads (lead id, campaign id, e-mail)."""

    label: str
    workspace_id: str
    api_key: str
    account_ids: tuple[str, ...]
    leads: tuple[tuple[str, str, str], ...]


@dataclass
class Expected:
    """What the generated file holds, to check what ingestion stored."""

    events: int = 0
    messages: int = 0
    replies: int = 0
    leads_sent: int = 0
    leads: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    jsonl_mb: float = 0.0


@dataclass
class Row:
    """One printed line of the result table."""

    path: str
    events: int
    seconds: float
    peak_rss: str
    baseline: Row | None = None
    note: str = ""
    indexed: Row | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# --- setup -------------------------------------------------------------------------------

def make_fixture(db: Database, label: str, n_leads: int) -> Fixture:
    """A workspace with a few campaigns, two sending accounts and ``n_leads`` leads."""
    with db.sessions() as session:
        workspace, key = create_workspace(session, f"bench {label}", "UTC")
        accounts = tuple(create_account(session, workspace.id, AccountFields(
            email=f"{who}@outreach-mail.com")).id for who in ("anna", "ben"))
        campaigns = [create_campaign(session, workspace.id, CampaignFields(
            name=f"{label} campaign {c}")).id for c in range(CAMPAIGNS)]
        leads: list[tuple[str, str, str]] = []
        per_campaign = -(-n_leads // CAMPAIGNS)
        for c, campaign_id in enumerate(campaigns):
            first = c * per_campaign
            emails = [f"editor{i}@{DOMAINS[i % len(DOMAINS)]}"
                      for i in range(first, min(first + per_campaign, n_leads))]
            for start in range(0, len(emails), 10_000):
                chunk = emails[start:start + 10_000]
                created, failed = create_leads(session, workspace.id, campaign_id, [
                    (i, LeadFields(contact_email=email, source="bench"))
                    for i, email in enumerate(chunk)])
                assert not failed, failed[:3]
                leads += [(lead_id, campaign_id, chunk[i]) for i, lead_id in created]
    return Fixture(label, workspace.id, key, accounts, tuple(leads))


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_events(rng: random.Random, fx: Fixture, lead: tuple[str, str, str], step: int,
                    message_id: str, sent: float, latest: float) -> tuple[list[Any], bool]:
    """One message's events as (time, fields) pairs, and whether the lead stops here."""
    lead_id, campaign_id, email = lead
    base = {"campaign_id": campaign_id, "message_id": message_id}
    variant = rng.choice("AB")
    subject = (f"Guest post idea for {email.split('@')[1]}" if variant == "A"
               else "Quick question about your blog")
    first = {"type": "failed" if rng.random() < 0.01 else "sent", **base, "lead_id": lead_id,
             "account_id": fx.account_ids[step % len(fx.account_ids)], "step": step,
             "variant": variant, "subject": subject if step == 0 else f"Re: {subject}",
             "recipient": email}
    events: list[Any] = [(sent, first)]
    if first["type"] == "failed":
        return events, False
    if rng.random() < 0.05:
        bounce_type, reason = BOUNCES[0] if rng.random() < 0.6 else BOUNCES[1]
        events.append((sent + rng.uniform(5, 120), {"type": "bounced", **base,
                                                    "bounce_type": bounce_type,
                                                    "reason": reason}))
        return events, bounce_type == "hard"
    delivered = sent + rng.uniform(1, 30)
    events.append((delivered, {"type": "delivered", **base}))
    stop = False
    if rng.random() < 0.45:
        opened = delivered + min(rng.expovariate(1 / (8 * 3600)), 3 * DAY)
        opens = [opened] + ([opened + rng.uniform(3600, 2 * DAY)] if rng.random() < 0.4 else [])
        events += [(at, {"type": "opened", **base, "user_agent": rng.choice(USER_AGENTS),
                         "ip": f"203.0.113.{rng.randrange(1, 255)}"}) for at in opens]
        if rng.random() < 0.2:
            events.append((opened + rng.uniform(10, 3600), {
                "type": "clicked", **base, "url": f"https://blog.outreach-mail.com/p/{step}/{lead_id}",
                "user_agent": rng.choice(USER_AGENTS)}))
        if rng.random() < 0.01:
            events.append((opened + rng.uniform(60, DAY), {"type": "unsubscribed", **base}))
            stop = True
        elif rng.random() < 0.005:
            events.append((opened + rng.uniform(60, DAY), {"type": "spam_complaint", **base}))
            stop = True
    if rng.random() < 0.05:
        body = rng.choices([b for b, _ in REPLIES], [w for _, w in REPLIES])[0]
        events.append((delivered + rng.uniform(1200, 2 * DAY), {
            "type": "replied", **base, "from": email, "subject": f"Re: {subject}", "body": body}))
        stop = stop or not body.startswith("I am out")
    return [(min(at, latest), event) for at, event in events], stop


def generate(fx: Fixture, n: int, seed: int, jsonl: Path, csv_path: Path) -> Expected:
    """Write N events for ``fx`` as JSON Lines and, as they land in email_events, as CSV."""
    rng = random.Random(seed)
    now = time.time()
    latest = now - 60
    timed_events: list[tuple[float, int, dict[str, Any]]] = []
    active = list(range(len(fx.leads)))
    start = {i: now - 60 * DAY + rng.uniform(0, 48 * DAY) for i in active}
    step = messages = 0
    while len(timed_events) < n:
        still = []
        for i in active:
            messages += 1
            sent = min(start[i] + step * 3 * DAY + rng.uniform(0, 6 * 3600), latest - 3 * DAY)
            events, stop = _message_events(rng, fx, fx.leads[i], step, f"{fx.label}-m{messages}",
                                           sent, latest)
            for at, event in events:
                timed_events.append((at, len(timed_events), event))
            if not stop:
                still.append(i)
            if len(timed_events) >= n:
                break
        active = still or list(range(len(fx.leads)))
        step += 1
    del timed_events[n:]
    timed_events.sort(key=lambda item: (item[0], item[1]))
    expected = Expected(leads=len(fx.leads))
    sent_leads: set[str] = set()
    with jsonl.open("w", encoding="utf-8") as lines, csv_path.open("w", newline="") as rows:
        writer = csv.writer(rows)
        writer.writerow(EVENT_COLUMNS)
        for number, (at, _, event) in enumerate(timed_events, start=1):
            record = {"external_id": f"{fx.label}-e{number}", "occurred_at": _iso(at), **event}
            lines.write(json.dumps(record, separators=(",", ":")) + "\n")
            writer.writerow([fx.workspace_id] + [record.get(c) for c in EVENT_COLUMNS[1:]])
            expected.by_type[event["type"]] += 1
            if event["type"] == "sent":
                sent_leads.add(event["lead_id"])
    expected.events = len(timed_events)
    expected.messages = expected.by_type["sent"] + expected.by_type["failed"]
    expected.replies = expected.by_type["replied"]
    expected.leads_sent = len(sent_leads)
    expected.jsonl_mb = jsonl.stat().st_size / 1e6
    return expected


# --- measured paths ----------------------------------------------------------------------

def rss_text(rss: PeakRss, label: str = "bench") -> str:
    """Peak RSS of the group's largest process, and how much the group grew in the phase."""
    return f"{rss.peak_one[label]:.0f} (+{rss.growth(label):.0f})"


def checkpoint(url: str) -> None:
    """Start each timed phase without a pending checkpoint's worth of dirty buffers."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.Error:
        pass  # needs superuser or pg_checkpoint; the figures are just noisier without it


def copy_into(url: str, csv_path: Path, events: int, label: str, target: Target = PLAIN,
              baseline: Row | None = None) -> Row:
    """COPY the CSV in one transaction into ``target``: the plain, index-free table is the
    baseline of every path; the others are references beside it."""
    checkpoint(url)
    columns = ", ".join(EVENT_COLUMNS)
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {target.table}")
        conn.execute(target.ddl)
        conn.commit()
        with PeakRss({"bench": self_pid}) as rss:
            elapsed = timed()
            with conn.cursor() as cursor, cursor.copy(
                f"COPY {target.table} ({columns}) FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy, csv_path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            conn.commit()
            seconds = elapsed()
        stored = conn.execute(f"SELECT count(*) FROM {target.table}").fetchone()
        conn.execute(f"DROP TABLE {target.table}")
        conn.commit()
    assert stored is not None and stored[0] == events, f"COPY stored {stored}, not {events}"
    return Row(f"{target.name} ({label})", events, seconds, rss_text(rss), baseline)


def copies(url: str, csv_path: Path, events: int, label: str,
           references: bool) -> tuple[Row, list[Row]]:
    """The bare COPY (the baseline) and, with ``references``, the key-only and indexed-twin
    COPYs of the same rows, indexed twin last."""
    baseline = copy_into(url, csv_path, events, label)
    targets = (KEYED, INDEXED) if references else ()
    return baseline, [baseline] + [copy_into(url, csv_path, events, label, target, baseline)
                                   for target in targets]


def batch_profile(seconds: list[float]) -> str:
    """Batch durations over the run: a rising tail means a statement's cost follows the
    table, not the batch."""
    if not seconds:
        return "no batches"
    tenth = max(1, len(seconds) // 10)
    ordered = sorted(seconds)
    return (f"{len(seconds)} batches, s/batch: first tenth {sum(seconds[:tenth]) / tenth:.2f}, "
            f"median {ordered[len(ordered) // 2]:.2f}, last tenth "
            f"{sum(seconds[-tenth:]) / tenth:.2f}, max {ordered[-1]:.2f}")


def run_cli(url: str, db: Database, fx: Fixture, jsonl: Path, baseline: Row,
            batch_size: int) -> Row:
    """``ingest_file`` — the CLI's code path without its progress bar."""
    checkpoint(url)
    durations: list[float] = []
    mark = [time.perf_counter()]

    def progress(_: int) -> None:
        now = time.perf_counter()
        durations.append(now - mark[0])
        mark[0] = now

    with PeakRss({"bench": self_pid}) as rss:
        elapsed = timed()
        mark[0] = time.perf_counter()
        report = ingest_file(db, fx.workspace_id, jsonl, batch_size=batch_size,
                             progress=progress)
        seconds = elapsed()
    assert report.read == baseline.events, report
    note = (f"accepted {report.accepted:,} dup {report.duplicates} rej {report.rejected}"
            + (f" first {report.first_rejections[:2]}" if report.rejected else "")
            + f"; {batch_profile(durations)}")
    return Row("cli ingest_file", report.accepted, seconds, rss_text(rss),
               baseline, note)


class BatchReader:
    """Hands out request bodies of ``size`` raw JSONL lines to the client threads."""

    def __init__(self, path: Path, size: int) -> None:
        self._lines = path.open("rb")
        self._size = size
        self._lock = threading.Lock()

    def next_body(self) -> bytes | None:
        with self._lock:
            lines = list(islice(self._lines, self._size))
        if not lines:
            return None
        return b'{"events":[' + b",".join(line.rstrip(b"\n") for line in lines) + b"]}"

    def close(self) -> None:
        self._lines.close()


@dataclass
class HttpTotals:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_rejections: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(endpoint: str, key: str, reader: BatchReader, totals: HttpTotals,
            stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with requests.Session() as session:
        while not stop.is_set() and (body := reader.next_body()) is not None:
            started = time.perf_counter()
            try:
                response = session.post(endpoint, data=body, headers=headers, timeout=300)
                error = "" if response.status_code == 202 else (
                    f"HTTP {response.status_code}: {response.text[:300]}")
            except requests.RequestException as exc:
                error = repr(exc)
            if error:
                with totals.lock:
                    totals.errors.append(error)
                stop.set()
                return
            data = response.json()["data"]
            with totals.lock:
                totals.requests += 1
                totals.latencies.append(time.perf_counter() - started)
                totals.accepted += data["accepted"]
                totals.duplicates += data["duplicates"]
                totals.first_rejections += data["rejected"][: max(0, 3 - totals.rejected)]
                totals.rejected += len(data["rejected"])


def _start_gunicorn(url: str, redis_url: str, port: int, workers: int, log: Path) -> Any:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
           "WEB_CONCURRENCY": str(workers), "APP_ENV": "development"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(GUNICORN), "webapi:create_app()", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "--timeout", "120"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop_gunicorn(server: Any) -> None:
    """Stop gunicorn's whole process group: TERM, then KILL after 15 s."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
        server.wait(timeout=5)
    except ProcessLookupError:
        pass


def run_http(url: str, fx: Fixture, jsonl: Path, baseline: Row, *, redis_url: str,
             workers: int, clients: int, batch: int, log: Path) -> tuple[Row, Row]:
    """POST the file's events in batches from ``clients`` threads to a gunicorn."""
    port = free_port()
    server = _start_gunicorn(url, redis_url, port, workers, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, log)
        for _ in range(2 * workers):  # every worker imports and connects before the clock
            requests.get(f"{base}/readyz", timeout=5)
        checkpoint(url)
        endpoint = f"{base}/api/v1/workspaces/{fx.workspace_id}/events"
        reader, totals, stop = BatchReader(jsonl, batch), HttpTotals(), threading.Event()

        def workers_pids() -> list[int]:
            try:
                return [child.pid for child in psutil.Process(server.pid).children()]
            except psutil.Error:
                return []

        threads = [threading.Thread(target=_client, args=(endpoint, fx.api_key, reader, totals,
                                                          stop), name=f"client-{i}")
                   for i in range(clients)]
        with PeakRss({"bench": self_pid, "workers": workers_pids}) as rss:
            elapsed = timed()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = elapsed()
        reader.close()
    finally:
        _stop_gunicorn(server)
    if totals.errors:
        raise RuntimeError(f"http path failed: {totals.errors[0]}")
    note = (f"accepted {totals.accepted:,} dup {totals.duplicates} rej {totals.rejected} "
            f"in {totals.requests} requests" + (f" first {totals.first_rejections}"
                                                if totals.rejected else "")
            + f"; request latency: {batch_profile(totals.latencies).split(', ', 1)[1]}")
    client = Row(f"http POST {batch}x{clients}c/{workers}w", totals.accepted, seconds,
                 rss_text(rss), baseline, note)
    server_row = Row("  gunicorn workers", totals.accepted, seconds,
                     f"{rss.peak_one['workers']:.0f}/w, {rss.peak_sum['workers']:.0f} all "
                     f"(+{rss.growth('workers'):.0f})")
    return client, server_row


# --- checks and report -------------------------------------------------------------------

def stored_counts(db: Database, workspace_id: str) -> dict[str, int]:
    with db.engine.connect() as conn:
        row = conn.execute(text("""
            SELECT (SELECT count(*) FROM email_events WHERE workspace_id = :ws) AS events,
                   (SELECT count(*) FROM messages WHERE workspace_id = :ws) AS messages,
                   (SELECT count(*) FROM replies WHERE workspace_id = :ws) AS replies,
                   (SELECT count(*) FROM leads WHERE workspace_id = :ws
                      AND status <> 'discovered') AS leads_moved
        """), {"ws": workspace_id}).one()
    return dict(row._mapping)


def check(db: Database, fx: Fixture, expected: Expected, accepted: int) -> list[str]:
    """Every mismatch between what was generated and what ingestion stored."""
    got = stored_counts(db, fx.workspace_id)
    want = {"events": expected.events, "messages": expected.messages,
            "replies": expected.replies, "leads_moved": expected.leads_sent}
    problems = [f"{fx.label}: accepted {accepted:,} != {expected.events:,} events"
                ] if accepted != expected.events else []
    problems += [f"{fx.label}: {name} stored {got[name]:,}, expected {value:,}"
                 for name, value in want.items() if got[name] != value]
    print(f"check {fx.label}: stored {', '.join(f'{k} {v:,}' for k, v in got.items())}"
          f" -> {'OK' if not problems else 'MISMATCH'}")
    return problems


def print_table(rows: list[Row]) -> None:
    """Baseline = bare COPY into the plain table; 'vs idx' = the ratio to the indexed twin;
    peak RSS (+ its rise during the phase above the level the phase started at)."""
    head = (f"{'path':<30}{'events':>11}{'seconds':>9}{'events/s':>11}{'baseline ev/s':>15}"
            f"{'ratio':>7}{'vs idx':>8}  peak RSS MB")
    print(head)
    print("-" * (len(head) + 8))
    for row in rows:
        base = f"{row.baseline.rate:>15,.0f}" if row.baseline else f"{'':>15}"
        ratio = f"{row.rate / row.baseline.rate:>7.3f}" if row.baseline else f"{'':>7}"
        vs_idx = f"{row.rate / row.indexed.rate:>8.2f}" if row.indexed else f"{'':>8}"
        rate = f"{row.rate:>11,.0f}" if not row.path.startswith(" ") else f"{'':>11}"
        print(f"{row.path:<30}{row.events:>11,}{row.seconds:>9.1f}{rate}{base}{ratio}{vs_idx}"
              f"  {row.peak_rss}")


def docs_line(rows: list[Row], events: int) -> str:
    parts = []
    for row in rows:
        if row.baseline is None:
            continue
        if row.path.startswith("COPY"):
            what = ("the unique key alone" if row.path.startswith(KEYED.name)
                    else "an indexed twin of email_events")
            if not any(what in part for part in parts):
                parts.append(f"COPY into {what} {row.rate / 1000:,.0f}k ev/s = "
                             f"{row.rate / row.baseline.rate:.2f}x")
            continue
        name = "CLI" if row.path.startswith("cli") else "HTTP"
        parts.append(f"{name} {row.rate / 1000:,.1f}k ev/s = {row.rate / row.baseline.rate:.2f}"
                     f"x COPY ({row.baseline.rate / 1000:,.0f}k ev/s), peak RSS {row.peak_rss} MB")
    workers = next((r.peak_rss for r in rows if r.path.strip().startswith("gunicorn")), None)
    if workers:
        parts.append(f"gunicorn workers {workers} MB")
    return (f"| ingestion (`ingest` file, `POST /events` x 5,000) | `.venv/bin/python "
            f"bench/bench_ingest.py --events {events}` | bare `COPY` of the same rows into an "
            f"index-free table | {events:,} events, {os.cpu_count()} cores, "
            f"{datetime.now(UTC):%Y-%m-%d}: {'; '.join(parts)} |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="events per path")
    parser.add_argument("--admin-url", default=default_admin_url(),
                        help="a database on the server to create the bench database on")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--batch", type=int, default=5_000, help="events per POST")
    parser.add_argument("--clients", type=int, default=3, help="client threads (2-4)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn sync workers (2 suits 2 cores, see above)")
    parser.add_argument("--file-batch", type=int, default=FILE_BATCH, help="ingest_file batch")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--no-indexed-baseline", action="store_true",
                        help="skip the informative COPYs (unique key only, indexed twin)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_exit()
    paths = [p for p, skip in (("cli", args.skip_cli), ("http", args.skip_http)) if not skip]
    if not paths:
        raise SystemExit("nothing to measure: both paths skipped")
    problems: list[str] = []
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ca_bench_ingest_") as tmp, \
            scratch_database(args.admin_url) as url:
        work = Path(tmp)
        db = Database.connect(url)
        try:
            elapsed = timed()
            n_leads = max(1, args.events // EVENTS_PER_LEAD)
            fixtures = {path: make_fixture(db, path, n_leads) for path in paths}
            print(f"database {url.rsplit('/', 1)[1]}: {len(paths)} workspace(s), {n_leads:,} "
                  f"leads each, set up in {elapsed():.1f} s")
            elapsed = timed()
            with ProcessPoolExecutor(len(paths), mp_context=get_context("spawn")) as pool:
                futures = {path: pool.submit(generate, fixtures[path], args.events, args.seed,
                                             work / f"{path}.jsonl", work / f"{path}.csv")
                           for path in paths}
                expected = {path: future.result() for path, future in futures.items()}
            first = expected[paths[0]]
            mix = ", ".join(f"{k} {v / first.events:.1%}" for k, v in first.by_type.most_common())
            print(f"generated {first.events:,} events per path ({first.jsonl_mb:,.0f} MB JSONL, "
                  f"{first.messages:,} messages, {first.replies:,} replies) in {elapsed():.1f} s"
                  f"\nmix: {mix}")
            if "cli" in paths:
                fx, exp = fixtures["cli"], expected["cli"]
                baseline, copied = copies(url, work / "cli.csv", exp.events, "cli rows",
                                              not args.no_indexed_baseline)
                rows += copied
                cli = run_cli(url, db, fx, work / "cli.jsonl", baseline, args.file_batch)
                cli.indexed = copied[-1] if len(copied) > 1 else None
                rows.append(cli)
                print(f"cli: {cli.note}")
                problems += check(db, fx, exp, cli.events)
            if "http" in paths:
                fx, exp = fixtures["http"], expected["http"]
                baseline, copied = copies(url, work / "http.csv", exp.events, "http rows",
                                              not args.no_indexed_baseline)
                rows += copied
                client, server = run_http(
                    url, fx, work / "http.jsonl", baseline, redis_url=args.redis_url,
                    workers=args.workers, clients=args.clients, batch=args.batch,
                    log=work / "gunicorn.log")
                client.indexed = copied[-1] if len(copied) > 1 else None
                rows += [client, server]
                print(f"http: {client.note}")
                problems += check(db, fx, exp, client.events)
        finally:
            db.engine.dispose()
    print()
    print_table(rows)
    print(f"bench process lifetime peak RSS (ru_maxrss): {max_rss_mb():.0f} MB")
    print()
    print(docs_line(rows, args.events))
    for problem in problems:
        print(f"FAILED CHECK: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
