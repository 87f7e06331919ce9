"""Password hashing, API key generation and signed session tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

API_KEY_PREFIX = "inb_"
USER_TOKEN_PREFIX = "inbu."
SESSION_COOKIE = "inbound_session"
CSRF_COOKIE = "inbound_csrf"
CSRF_HEADER = "X-CSRF-Token"

# Argon2id: memory-hard, as the design asks for user passwords.
_password_hash = PasswordHash((Argon2Hasher(),))
# A fixed hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _password_hash.hash("not-a-real-password-but-long-enough")


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:  # a corrupt stored hash must not become a 500 on login
        return False


def new_api_key() -> tuple[str, str, str]:
    """Return (raw key, display prefix, hash)."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:12], hash_api_key(raw)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="inbound-session")


def issue_user_token(secret_key: str, *, user_id: int, token_version: int) -> str:
    return USER_TOKEN_PREFIX + _serializer(secret_key).dumps({"uid": user_id, "v": token_version})


def read_user_token(secret_key: str, token: str, *, max_age_s: int) -> tuple[int, int] | None:
    if not token.startswith(USER_TOKEN_PREFIX):
        return None
    try:
        data = _serializer(secret_key).loads(token[len(USER_TOKEN_PREFIX) :], max_age=max_age_s)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    return data["uid"], int(data.get("v", 0))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(cookie: str | None, header: str | None) -> bool:
    return bool(cookie) and bool(header) and hmac.compare_digest(str(cookie), str(header))


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)
