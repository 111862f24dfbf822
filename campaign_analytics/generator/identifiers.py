"""Deterministic identifiers of generated rows.

Real rows get random ids (``campaign_analytics.ids.new_id``); generated ones are derived from
the workspace and the seed, so one seed always yields the same rows. Primary keys are
global, so they carry a short hash of the workspace (two workspaces may use one seed);
sender identifiers and external ids only need to be unique within their workspace, so they
carry the seed alone, and two seeds coexist in one workspace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAX_SEED = 2**32 - 1  # keeps every id within its 40-character column


@dataclass(frozen=True)
class GeneratedIds:
    workspace_id: str
    seed: int

    @property
    def tag(self) -> str:
        """Eight hex digits of the workspace id's hash."""
        return hashlib.blake2b(self.workspace_id.encode(), digest_size=4).hexdigest()

    def key(self, prefix: str, number: int) -> str:
        """A primary key such as ``lead_g1a2b3c4ds7n42``."""
        return f"{prefix}_g{self.tag}s{self.seed}n{number}"

    def key_prefix(self, prefix: str) -> str:
        """What every key of this kind starts with (``key`` without the number)."""
        return f"{prefix}_g{self.tag}s{self.seed}n"

    def sender_message_id(self, number: int) -> str:
        return f"gen{self.seed}-m{number}"

    def orphan_message_id(self, number: int) -> str:
        """A sender identifier no ``sent`` event will ever create."""
        return f"gen{self.seed}-orphan{number}"

    def external_prefix(self) -> str:
        return f"gen-{self.seed}-"
