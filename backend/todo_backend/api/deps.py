"""Request dependencies: settings, a database session, and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from todo_backend.api.schemas import ErrorOut
from todo_backend.auth import (
    InvalidToken,
    KeysUnavailable,
    SignedOut,
    TokenVerifier,
    check_session,
)
from todo_backend.config import Settings

bearer = HTTPBearer(auto_error=False, description="better-auth JWT from /api/auth/token")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


def current_user(
    user_id: str,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    db: Annotated[Session, Depends(get_db)],
) -> str:
    """The path's {user_id}, once the bearer token proves the caller is that user, signed in."""
    if credentials is None:
        raise _unauthorized("missing bearer token")
    try:
        identity = verifier.identity(credentials.credentials)
    except InvalidToken:
        raise _unauthorized("invalid or expired token") from None
    except KeysUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "cannot verify tokens right now"
        ) from None
    if identity.user_id != user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "token does not belong to this user")
    try:
        check_session(db, identity)
    except SignedOut as error:
        raise _unauthorized(f"{error}: sign in again") from None
    return user_id


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


# The error answers of every /api/{user_id} route: `current_user`'s, and FastAPI's for a body
# that is not JSON at all.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {"model": ErrorOut, "description": "body is not JSON"},
    status.HTTP_401_UNAUTHORIZED: {"model": ErrorOut, "description": "missing or invalid token"},
    status.HTTP_403_FORBIDDEN: {"model": ErrorOut, "description": "token of another user"},
    status.HTTP_503_SERVICE_UNAVAILABLE: {"model": ErrorOut, "description": "keys unavailable"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "no such id for this user"}
}

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[str, Depends(current_user)]
