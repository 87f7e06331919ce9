"""Who is calling: API keys, bearer tokens and session cookies resolved to a Principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.errors import Forbidden, NotAuthenticated
from app.security import (
    API_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    csrf_matches,
    hash_api_key,
    read_user_token,
)
from app.services.cache import IngestCache, TTLCache
from models import ApiKey, Role, Supplier, User, UserSite, utcnow

STAFF_ROLES = frozenset({Role.admin, Role.logistician, Role.planner})
# Writing last_used_at on every request would turn each read into a write; a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "api_key"
    role: Role | None = None
    user_id: int | None = None
    supplier_id: int | None = None
    api_key_id: int | None = None
    # None means every site (admins); staff are limited to the sites they are assigned to.
    site_ids: frozenset[int] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_supplier(self) -> bool:
        return self.kind == "api_key" or self.role == Role.supplier_viewer

    def sees_site(self, site_id: int) -> bool:
        if self.is_supplier:
            return True
        return self.site_ids is None or site_id in self.site_ids

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this action needs the admin role", code="forbidden_role")

    def require_role(self, *roles: Role) -> None:
        if self.kind != "user" or self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs one of the roles: {allowed}", code="forbidden_role")


def principal_for_api_key(
    session: Session, raw_key: str, *, cache: IngestCache | None = None
) -> Principal:
    key_hash = hash_api_key(raw_key)
    if cache is not None:
        hit = cache.keys.get(key_hash)
        if not TTLCache.missing(hit):
            return hit
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
    if key is None:
        raise NotAuthenticated("the API key is not valid", code="invalid_api_key")
    if key.revoked_at is not None:
        raise NotAuthenticated("the API key has been revoked", code="api_key_revoked")
    supplier = session.get(Supplier, key.supplier_id)
    if supplier is None or not supplier.is_active:
        raise NotAuthenticated("the API key's supplier is inactive", code="supplier_inactive")
    principal = Principal(kind="api_key", supplier_id=supplier.id, api_key_id=key.id)
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key_id = key.id
        # End the read first: on SQLite a read transaction cannot be upgraded to a write while
        # the ingest writer holds the lock, but a fresh write transaction waits its turn.
        session.rollback()
        session.exec(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now))
        session.commit()
    if cache is not None:
        cache.keys.put(key_hash, principal)
    return principal


def principal_for_user(session: Session, user: User) -> Principal:
    site_ids: frozenset[int] | None = None
    if user.role in (Role.logistician, Role.planner):
        rows = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all()
        site_ids = frozenset(rows)
    return Principal(
        kind="user",
        role=user.role,
        user_id=user.id,
        supplier_id=user.supplier_id if user.role == Role.supplier_viewer else None,
        site_ids=site_ids,
    )


def user_from_token(session: Session, token: str, *, secret_key: str, max_age_s: int) -> User:
    parsed = read_user_token(secret_key, token, max_age_s=max_age_s)
    if parsed is None:
        raise NotAuthenticated("the session is invalid or has expired", code="invalid_token")
    user_id, version = parsed
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.token_version != version:
        raise NotAuthenticated("the session is invalid or has expired", code="invalid_token")
    return user


def authenticate(
    session: Session,
    *,
    method: str,
    api_key_header: str | None,
    authorization: str | None,
    session_cookie: str | None,
    csrf_cookie: str | None,
    csrf_header: str | None,
    secret_key: str,
    max_age_s: int,
    cache: IngestCache | None = None,
) -> Principal:
    if api_key_header:
        return principal_for_api_key(session, api_key_header.strip(), cache=cache)
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise NotAuthenticated("use 'Authorization: Bearer <token or API key>'")
        if credentials.startswith(API_KEY_PREFIX):
            return principal_for_api_key(session, credentials, cache=cache)
        if credentials.startswith(USER_TOKEN_PREFIX):
            user = user_from_token(session, credentials, secret_key=secret_key, max_age_s=max_age_s)
            return principal_for_user(session, user)
        raise NotAuthenticated("the bearer credential is not valid", code="invalid_token")
    if session_cookie:
        user = user_from_token(session, session_cookie, secret_key=secret_key, max_age_s=max_age_s)
        # Cookies ride along on cross-site requests; the double-submit token proves the page
        # that sent this one was ours.
        if method.upper() in UNSAFE_METHODS and not csrf_matches(csrf_cookie, csrf_header):
            raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
        return principal_for_user(session, user)
    raise NotAuthenticated("authentication required: an API key, a bearer token or a session")
