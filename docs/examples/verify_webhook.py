"""Verify a Campaign Analytics webhook (the Standard Webhooks scheme) before trusting it.

Copy this function into your receiver; it needs only the standard library. Pass it the
secret shown when the webhook was created (``whsec_…``), the request's headers and its raw
body (the exact bytes: re-serialised JSON would not verify). It returns the parsed event,
or raises ``WebhookVerificationError``. The test suite imports this very file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

TOLERANCE_SECONDS = 5 * 60  # a request signed longer ago (or ahead) than this is a replay


class WebhookVerificationError(Exception):
    pass


def verify(secret: str, headers: Mapping[str, str], body: bytes,
           now: float | None = None) -> dict[str, Any]:
    named = {name.lower(): value for name, value in headers.items()}
    try:
        delivery_id = named["webhook-id"]
        timestamp = named["webhook-timestamp"]
        signatures = named["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError(f"missing header {missing}") from None
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - signed_at) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is too old or too new (replay?)")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():  # space-separated "v1,<base64>" entries
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return dict(json.loads(body))
    raise WebhookVerificationError("no valid signature")
