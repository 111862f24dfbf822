"""COPY text format (tab-separated, ``\\N`` for NULL) for the values the generator writes."""

from __future__ import annotations

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | None) -> str:
    """A value as a COPY text field."""
    return NULL if value is None else value.translate(_ESCAPES)


def event_detail(
    bounce_type: str | None = None,
    reason: str | None = None,
    url: str | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
) -> str:
    """The last five columns of an ``email_events`` line (bounce_type, reason, url,
    user_agent, ip), encoded once and shared by the many events that carry them."""
    return "\t".join(copy_text(value) for value in (bounce_type, reason, url, user_agent, ip))


NULL_DETAIL = event_detail()
