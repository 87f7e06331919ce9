"""Users: admins manage accounts; everyone can read their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminPrincipal, CurrentPrincipal, PaginationDep, PathId, SessionDep
from app.api.responses import page_of
from app.errors import ERROR_RESPONSES, Conflict, NotFound
from app.services import users as users_service
from models import Page, Role
from models.user import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=UserPublic)
def read_me(session: SessionDep, principal: CurrentPrincipal) -> UserPublic:
    """The signed-in user (not available to API keys)."""
    if principal.user_id is None:
        raise NotFound("API keys have no user account", code="user_not_found")
    return users_service.to_public(session, users_service.get(session, user_id=principal.user_id))


@router.get("", response_model=Page[UserPublic])
def list_users(
    session: SessionDep,
    _admin: AdminPrincipal,
    page: PaginationDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="email or name contains")] = None,
) -> Page[UserPublic]:
    """List users (admin)."""
    items, total = users_service.list_all(
        session, role=role, q=q, limit=page.limit, offset=page.offset
    )
    return page_of(UserPublic, [users_service.to_public(session, u) for u in items], total, page)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, _admin: AdminPrincipal) -> UserPublic:
    """Create a user with a role; staff get `site_ids`, supplier viewers a `supplier_id` (admin)."""
    return users_service.to_public(session, users_service.create(session, data=data))


@router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: PathId, session: SessionDep, _admin: AdminPrincipal) -> UserPublic:
    """One user (admin)."""
    return users_service.to_public(session, users_service.get(session, user_id=user_id))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: PathId, data: UserUpdate, session: SessionDep, _admin: AdminPrincipal
) -> UserPublic:
    """Change a user's name, password, active flag or sites (admin); sessions end on change."""
    user = users_service.get(session, user_id=user_id)
    return users_service.to_public(session, users_service.update(session, user=user, data=data))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: PathId, session: SessionDep, admin: AdminPrincipal) -> None:
    """Delete a user (admin); an admin cannot delete themselves."""
    if user_id == admin.user_id:
        raise Conflict("you cannot delete your own account", code="cannot_delete_self")
    users_service.delete_user(session, user=users_service.get(session, user_id=user_id))
