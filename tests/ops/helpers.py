"""Reading what the processes wrote: JSON log lines and Prometheus text."""

from __future__ import annotations

import json
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line that is a JSON object (Celery's start-up banner is printed, not logged)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def parse_metrics(text: str) -> dict[Sample, float]:
    """{(sample name, labels): value} of a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str) -> dict[Sample, float]:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return parse_metrics(response.text)


def sample(name: str, **labels: str) -> Sample:
    return name, frozenset(labels.items())
