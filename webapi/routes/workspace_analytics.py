"""(being written)"""

from __future__ import annotations

from ..auth import workspace_blueprint

bp = workspace_blueprint("workspace_analytics", __name__)
