"""Login for people: a session cookie for the dashboard, a bearer token for scripts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from app.api.deps import SessionDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    issue_user_token,
    new_csrf_token,
)
from app.services import users as users_service
from models.user import UserPublic

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class LoginResponse(BaseModel):
    user: UserPublic
    csrf_token: str = Field(description="send back as X-CSRF-Token on state-changing requests")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/login", response_model=LoginResponse)
def login(
    data: LoginRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> LoginResponse:
    """Sign in; sets an HttpOnly session cookie and a CSRF cookie for the dashboard."""
    user = users_service.authenticate(session, email=data.email, password=data.password)
    assert user.id is not None
    token = issue_user_token(settings.secret_key, user_id=user.id, token_version=user.token_version)
    csrf = new_csrf_token()
    common = {
        "max_age": settings.session_max_age_s,
        "secure": settings.cookie_secure,
        "samesite": "lax",
        "path": "/",
    }
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by the page's script, which echoes it in the X-CSRF-Token header.
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
    return LoginResponse(user=users_service.to_public(session, user), csrf_token=csrf)


@router.post("/logout", status_code=204)
def logout(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/token", response_model=TokenResponse)
def token(
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=128)],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """OAuth2 password flow for scripts: returns a bearer token (form fields username, password)."""
    user = users_service.authenticate(session, email=username, password=password)
    assert user.id is not None
    access = issue_user_token(
        settings.secret_key, user_id=user.id, token_version=user.token_version
    )
    return TokenResponse(access_token=access, expires_in=settings.session_max_age_s)
