"""Reply classification throughput on the labelled corpus, against a one-regex-per-rule baseline.

Ingestion classifies every reply of a bulk request (up to 10,000 events) inline, so this
prints replies/s and µs per reply. The baseline applies the very same rules one ``re.search``
at a time, which is what the per-class alternations in the classifier replace; the text
preparation alone (normalise + strip quotes) is shown as the floor. No assertion: figures
only. Run: ``.venv/bin/python bench/bench_classifier.py [ROUNDS]``.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from campaign_analytics.classification import classify_reply
from campaign_analytics.classification.classifier import RuleSet, default_rules, normalise
from campaign_analytics.models.vocabulary import ReplyClass

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "classification" / "corpus.jsonl"
Reply = tuple[str | None, str | None, Mapping[str, str] | None]


def load_replies() -> list[Reply]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [(row.get("subject"), row.get("body"), row.get("headers")) for row in rows]


def per_rule_baseline(rules: RuleSet) -> Callable[..., ReplyClass]:
    """The same rules and precedence, one compiled regex per rule, tried one after another."""
    compiled = [(rule, re.compile(rule.pattern, re.MULTILINE)) for rule in rules.rules]

    def classify(
        subject: str | None, body: str | None, headers: Mapping[str, str] | None = None
    ) -> ReplyClass:
        values = {k.casefold(): normalise(v) for k, v in (headers or {}).items()}
        texts = {"subject": normalise(subject), "body": rules.strip_quotes(normalise(body))}
        for rule, regex in compiled:
            if rule.field == "header":
                value = values.get(rule.header or "")
                if value is not None and regex.search(value):
                    return rule.reply_class
                continue
            for match in regex.finditer(texts[rule.field]):
                if not (rule.negatable and rules.negation(texts[rule.field], match.start())):
                    return rule.reply_class
        return rules.fallback

    return classify


def text_preparation(rules: RuleSet) -> Callable[..., object]:
    def prepare(subject: str | None, body: str | None, headers: object = None) -> object:
        return normalise(subject), rules.strip_quotes(normalise(body))

    return prepare


def run(name: str, func: Callable[..., object], replies: list[Reply], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for subject, body, headers in replies:
            func(subject, body, headers)
    elapsed = time.perf_counter() - started
    count = rounds * len(replies)
    print(f"{name:<34}{count / elapsed:>14,.0f} replies/s{elapsed / count * 1e6:>9.1f} µs/reply")
    return elapsed


def main(rounds: int = 200) -> None:
    replies = load_replies()
    rules = default_rules()  # compile outside the timed loop
    baseline = per_rule_baseline(rules)
    assert all(baseline(*r) is classify_reply(*r) for r in replies), "baseline disagrees"
    print(f"{len(replies)} corpus replies x {rounds} rounds, {len(rules.rules)} rules")
    fast = run("classify_reply", classify_reply, replies, rounds)
    slow = run("baseline: one regex per rule", baseline, replies, rounds)
    run("floor: normalise + strip quotes", text_preparation(rules), replies, rounds)
    print(f"ratio baseline/classify_reply: {slow / fast:.2f}x")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
