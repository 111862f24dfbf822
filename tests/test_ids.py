"""``new_id`` keeps the format and order of the base-32 loop it replaced: the same id for
the same instant and random bits, ids in the order of their milliseconds, uniform digits."""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from campaign_analytics import ids
from campaign_analytics.ids import PREFIXES, new_id

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
SHAPE = re.compile(r"([a-z]+)_([0-9a-hjkmnp-tv-z]{26})")


def reference_id(prefix: str, millis: int, randomness: int) -> str:
    """The implementation before 2026-11-30, with its clock and random bits given."""
    def base32(value: int, length: int) -> str:
        chars = []
        for _ in range(length):
            value, digit = divmod(value, 32)
            chars.append(ALPHABET[digit])
        return "".join(reversed(chars))

    return f"{prefix}_{base32(millis, 10)}{base32(randomness, 16)}"


def random_bytes_for(randomness: int, rng: random.Random) -> bytes:
    """16 bytes whose low 5 bits are the base-32 digits of ``randomness`` (most significant
    first) and whose high 3 bits are noise, which the digits must not depend on."""
    digits = [(randomness >> (5 * (15 - i))) & 31 for i in range(16)]
    return bytes(digit | (rng.randrange(8) << 5) for digit in digits)


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, bytes]]]:
    """Feeds ``new_id`` the clock and random bytes queued in the list it yields."""
    queue: list[tuple[int, bytes]] = []
    pending: list[bytes] = []

    def time_ns() -> int:
        millis, random_part = queue.pop(0)
        pending.append(random_part)
        return millis * 1_000_000 + 999_999  # the sub-millisecond part is dropped

    def urandom(size: int) -> bytes:
        assert size == 16
        return pending.pop(0)

    monkeypatch.setattr(time, "time_ns", time_ns)
    monkeypatch.setattr(os, "urandom", urandom)
    monkeypatch.setattr(ids, "_stamp", (-1, ""))
    yield queue


def test_the_same_id_as_the_reference_on_many_values(fixed: list[tuple[int, bytes]]) -> None:
    rng = random.Random(20261130)
    edges = [0, 1, 31, 32, 2**40, 2**47, 2**48 - 1, 1_764_000_000_000]
    cases = [(millis, randomness) for millis in edges for randomness in (0, 1, 2**80 - 1)]
    # Runs of equal milliseconds exercise the cached digits; then a jump, and back.
    for _ in range(2_000):
        millis = rng.randrange(2**48)
        cases += [(millis, rng.randrange(2**80)) for _ in range(rng.randint(1, 5))]
    cases += [(5, 7), (6, 7), (5, 8)]
    for millis, randomness in cases:
        prefix = rng.choice(sorted(PREFIXES))
        fixed.append((millis, random_bytes_for(randomness, rng)))
        assert new_id(prefix) == reference_id(prefix, millis, randomness)


def test_ids_sort_by_their_millisecond(fixed: list[tuple[int, bytes]]) -> None:
    rng = random.Random(7)
    stamps = [*sorted(rng.sample(range(2**48), 3_000)), 2**48 - 1]
    for millis in stamps:  # the random part never outweighs the clock
        fixed.append((millis, bytes(rng.randrange(256) for _ in range(16))))
    made = [new_id("msg") for _ in stamps]
    assert sorted(made) == made


def test_shape_prefixes_and_digits() -> None:
    made = [new_id("rpl") for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert all(SHAPE.fullmatch(i) and i.startswith("rpl_") for i in made)
    for position in range(14, 30):  # each random digit takes every value about equally
        counts = Counter(i[position] for i in made)
        assert set(counts) == set(ALPHABET)
        assert max(counts.values()) < 2 * min(counts.values())
    millis = 0
    for digit in made[-1][4:14]:
        millis = millis * 32 + ALPHABET.index(digit)
    assert abs(millis - time.time_ns() // 1_000_000) < 60_000
    first = new_id("msg")
    time.sleep(0.002)
    assert first[:14] < new_id("msg")[:14]  # a later millisecond, with the real clock
    for prefix in PREFIXES:
        assert new_id(prefix).startswith(f"{prefix}_")
    with pytest.raises(ValueError):
        new_id("nope")
