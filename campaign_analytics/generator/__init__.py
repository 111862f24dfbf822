"""Generated data sets: realistic, reproducible outreach data of any size, loaded with COPY.

``generate_dataset(db, workspace_id, events, seed)`` is the entry point (the CLI's
``generate`` command wraps it). Modules: ``texts`` (the words), ``model`` (rates and the plan
of campaigns and accounts), ``simulate`` (one lead's history), ``writer`` (COPY lines and
loading), ``generate`` (batching, the transaction, the report).
"""

from .generate import GenerateReport, generate_dataset

__all__ = ["GenerateReport", "generate_dataset"]
