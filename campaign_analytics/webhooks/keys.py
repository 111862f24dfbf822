"""Signing secrets: generated here, shown once, stored only encrypted.

A secret is ``whsec_`` + base64 of 32 random bytes (Standard Webhooks); the bytes are the
HMAC key. At rest it is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys derived
with HKDF-SHA256 from ``WEBHOOK_SECRET_KEYS`` (else ``SECRET_KEY``, with
``DOWNLOAD_OLD_SECRET_KEYS`` decrypting too, so the documented ``SECRET_KEY`` rotation keeps
every webhook working): a database dump alone reveals nothing. The first key encrypts, every
key decrypts, so a key is rotated by putting the new one first and keeping the old one after
it until every secret was re-encrypted.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..settings import Settings

PREFIX = "whsec_"
SECRET_BYTES = 32
_HKDF_INFO = b"campaign-analytics webhook secrets v1"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def hmac_key(secret: str) -> bytes:
    """The HMAC key a secret stands for (its base64 part, decoded)."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def _fernet(key_material: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_HKDF_INFO).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def cipher(settings: Settings) -> MultiFernet:
    materials = _keys(settings.webhook_secret_keys) or [
        settings.secret_key, *_keys(settings.download_old_secret_keys)]
    return MultiFernet([_fernet(material) for material in materials])


def _keys(listed: str | None) -> list[str]:
    return [key.strip() for key in (listed or "").split(",") if key.strip()]


def encrypt(settings: Settings, secret: str) -> bytes:
    return cipher(settings).encrypt(secret.encode())


def decrypt(settings: Settings, ciphertext: bytes) -> str:
    return cipher(settings).decrypt(ciphertext).decode()
