"""Dashboard users: creation with role scope checks, login, password changes."""

from __future__ import annotations

from sqlmodel import Session, col, delete, select

from app.errors import InvalidInput, NotAuthenticated, NotFound
from app.security import hash_password, verify_password
from app.services.common import commit_or_conflict, paginate
from models import Role, Site, Supplier, User, UserSite
from models.user import UserCreate, UserPublic, UserUpdate


def to_public(session: Session, user: User) -> UserPublic:
    site_ids = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all()
    return UserPublic.model_validate(user, update={"site_ids": sorted(site_ids)})


def get(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return user


def get_by_email(session: Session, *, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def list_all(
    session: Session, *, role: Role | None, q: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(col(User.email).ilike(pattern) | col(User.full_name).ilike(pattern))
    return paginate(session, stmt, limit=limit, offset=offset, order_by=User.id)


def _check_scope(
    session: Session, *, role: Role, supplier_id: int | None, site_ids: list[int]
) -> None:
    if role == Role.supplier_viewer:
        if supplier_id is None:
            raise InvalidInput("a supplier_viewer needs a supplier_id", code="supplier_id_required")
        if session.get(Supplier, supplier_id) is None:
            raise NotFound(f"supplier {supplier_id} not found", code="supplier_not_found")
        if site_ids:
            raise InvalidInput("a supplier_viewer is scoped to a supplier, not to sites")
    elif supplier_id is not None:
        raise InvalidInput(f"a {role.value} is not scoped to a supplier", code="invalid_scope")
    for site_id in site_ids:
        if session.get(Site, site_id) is None:
            raise NotFound(f"site {site_id} not found", code="site_not_found")


def create(session: Session, *, data: UserCreate) -> User:
    _check_scope(session, role=data.role, supplier_id=data.supplier_id, site_ids=data.site_ids)
    user = User(
        email=str(data.email).lower(),
        full_name=data.full_name,
        role=data.role,
        supplier_id=data.supplier_id,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    message = f"a user with {data.email} exists"
    commit_or_conflict(session, code="email_taken", message=message, flush_only=True)
    for site_id in sorted(set(data.site_ids)):
        assert user.id is not None
        session.add(UserSite(user_id=user.id, site_id=site_id))
    commit_or_conflict(session, code="email_taken", message=message)
    session.refresh(user)
    return user


def update(session: Session, *, user: User, data: UserUpdate) -> User:
    if data.full_name is not None:
        user.full_name = data.full_name
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        user.token_version += 1
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        user.token_version += 1
    if data.site_ids is not None:
        _check_scope(session, role=user.role, supplier_id=user.supplier_id, site_ids=data.site_ids)
        session.exec(delete(UserSite).where(col(UserSite.user_id) == user.id))
        for site_id in sorted(set(data.site_ids)):
            assert user.id is not None
            session.add(UserSite(user_id=user.id, site_id=site_id))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def delete_user(session: Session, *, user: User) -> None:
    session.delete(user)
    session.commit()


def authenticate(session: Session, *, email: str, password: str) -> User:
    user = get_by_email(session, email=email)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise NotAuthenticated("wrong email or password", code="invalid_credentials")
    if not user.is_active:
        raise NotAuthenticated("wrong email or password", code="invalid_credentials")
    return user
