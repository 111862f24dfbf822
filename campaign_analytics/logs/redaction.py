"""Secrets and SQL are cut out of every log line, whoever logged it.

Call sites already avoid logging secrets (docs/security.md); this is the net under them,
for library messages and exception texts we do not write: a password in a connection URL,
a bearer token or API key, a download link's token, a presigned S3 URL's signature, and
the statement and parameters SQLAlchemy and PostgreSQL put into their error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# (pattern, replacement), applied in order to each string of a log line.
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host → scheme://user:***@host (DATABASE_URL, REDIS_URL, ...)
    (re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s/]+@"), r"\g<head>:***@"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), rf"\g<1>{REDACTED}"),
    # API keys: ca_ and 43 URL-safe characters (the 10-character display prefix is kept
    # out of reach by the length).
    (re.compile(r"\bca_[A-Za-z0-9_-]{20,}"), f"ca_{REDACTED}"),
    # /api/v1/downloads/<signed token> (the route template itself is kept)
    (re.compile(r"(/downloads/)(?!<token>)[^/\s\"'?#]+"), rf"\g<1>{REDACTED}"),
    # S3 presigned URLs and signed requests.
    (re.compile(r"(?i)\b((?:x-amz-signature|x-amz-credential|x-amz-security-token|signature"
                r"|awsaccesskeyid|credential)=)[^&\s\"',]+"), rf"\g<1>{REDACTED}"),
    # SQLAlchemy's "[SQL: ...]" (the statement may span lines) and its parameters.
    (re.compile(r"(?s)\[SQL: .*?\](?=\n\[|\n\(Background|\n\n|\Z)"), f"[SQL: {REDACTED}]"),
    (re.compile(r"\[parameters: [^\n]*\]"), f"[parameters: {REDACTED}]"),
    # PostgreSQL's error context quoting the statement ("LINE 1: SELECT ...").
    (re.compile(r"(?m)^(\s*LINE \d+: ).*$"), rf"\g<1>{REDACTED}"),
)


def redact(text: str) -> str:
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """``value`` with every string in it redacted; objects become redacted strings, so
    nothing reaches the log line unexamined."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return redact(str(value))
