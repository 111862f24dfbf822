"""Stored verdicts as tests read them: with their event's workspace, and their verdict and
reason by name (the table keeps a number of ``verdict_reasons``)."""

NAMED_VERDICTS = """(SELECT v.event_id, e.workspace_id, r.verdict, r.reason
    FROM event_verdicts v JOIN email_events e ON e.id = v.event_id
    JOIN verdict_reasons r ON r.id = v.reason_id)"""
