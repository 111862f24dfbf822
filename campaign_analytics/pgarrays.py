"""Array parameters as PostgreSQL literals, for ``CAST(:param AS text[])``.

psycopg adapts a Python list element by element in Python; a literal built with ``str``
methods costs about a fifth of that. Ingestion sends thousands of ids a batch while it
holds the workspace's ingest lock, where every microsecond is paid by all of the
workspace's senders.
"""

from __future__ import annotations

from collections.abc import Iterable


def text_array(values: Iterable[str]) -> str:
    """A ``text[]`` literal: every element quoted, so any text is kept as it is (commas,
    braces, quotes, backslashes, blanks, "NULL"). PostgreSQL text never holds NUL."""
    return "{" + ",".join(
        '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values
    ) + "}"


def boolean_array(values: Iterable[bool]) -> str:
    """A ``boolean[]`` literal."""
    return "{" + ",".join("t" if value else "f" for value in values) + "}"
