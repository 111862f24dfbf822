"""Event ingestion shared by ``POST /events`` and ``campaign-analytics ingest``."""

from .batch import MAX_EVENTS, BatchResult, ingest_batch

__all__ = ["MAX_EVENTS", "BatchResult", "ingest_batch"]
