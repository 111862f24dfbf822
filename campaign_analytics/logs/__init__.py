"""Structured logs for every process (API, worker, beat, CLI): one handler on the root
logger, JSON or text, carrying the request's or the job's ids, with secrets redacted.

``setup.configure_logging`` installs it; ``context.log_context`` adds fields to every line
logged inside it. The format is described in docs/operations.md.
"""
