"""Health and readiness models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Check = Literal["ok", "unreachable"]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    database: Check
    broker: Check
