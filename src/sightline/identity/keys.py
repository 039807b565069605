"""API key format and hashing. Keys are `sk_sl_` + 64 hex; only sha256(key) is stored,
which is PandaProbe's scheme, so its keys (sk_pp_...) can be imported as hashes."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sk_sl_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_hex(32)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def display_prefix(raw_key: str) -> str:
    return raw_key[: len(KEY_PREFIX) + 4]
