"""Verify the JWTs that better-auth's JWT plugin issues, against its public JWKS.

The back end fetches the signing keys from AUTH_JWKS_URL rather than sharing a secret with the
front end: only public keys leave better-auth, keys rotate without touching the back end (an
unknown `kid` triggers one refetch), and nothing here can mint tokens.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from sqlalchemy import text
from sqlalchemy.orm import Session

from todo_backend.config import Settings

log = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA", "ES256", "RS256"]
# The key set is cached for a while, so a key better-auth drops stops working within minutes.
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5
# An unknown `kid` refetches the set at most this often, so forged kids cannot hammer the front end.
# PyJWT starts it only after a successful fetch: a failed fetch is retried by the next request.
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0
# With no key set yet, a failed fetch is retried inside the request for this long (the front end
# may be a moment from answering: a pod starting, endpoints being published); past it, 503.
JWKS_RETRY_SECONDS = 2.0
JWKS_FIRST_BACKOFF_SECONDS = 0.1
# PyJWT wraps URL, timeout and HTTP errors; a connection reset while reading the body is a bare
# OSError, and it means the same: the endpoint is not answering properly right now.
UNREACHABLE = (jwt.PyJWKClientConnectionError, OSError)


class InvalidToken(Exception):
    """The token is missing, malformed, badly signed, expired or for someone else's issuer."""


class SignedOut(InvalidToken):
    """The token is sound but its better-auth session was ended (signed out) or has expired."""


@dataclass(frozen=True)
class Identity:
    user_id: str  # `sub`: the better-auth user id
    session_id: str  # `sid`: the better-auth session the token was minted for


class KeysUnavailable(Exception):
    """The JWKS endpoint could not be reached, so no token can be judged right now."""


class TokenVerifier:
    def __init__(
        self, settings: Settings, refresh_cooldown: float = JWKS_REFRESH_COOLDOWN_SECONDS
    ) -> None:
        self.issuer = settings.auth_issuer
        self.audience = settings.auth_audience
        self.keys = jwt.PyJWKClient(
            settings.auth_jwks_url,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=refresh_cooldown,
        )

    def identity(self, token: str) -> Identity:
        """The verified token's user and session (not yet checked against the session table)."""
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub", "sid", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as error:
            raise InvalidToken(str(error)) from None
        return Identity(user_id=str(claims["sub"]), session_id=str(claims["sid"]))

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """The key for the token's `kid`, retrying a failed first fetch with backoff (bounded)."""
        started, backoff, attempts = time.monotonic(), JWKS_FIRST_BACKOFF_SECONDS, 0
        while True:
            attempts += 1
            try:
                key = self._fetch_key(token)
            except UNREACHABLE as error:
                failure = error
            else:
                if attempts > 1:
                    log.info("JWKS %s answered after %d attempts", self.keys.uri, attempts)
                return key
            elapsed = time.monotonic() - started
            # A cached set means this was an unknown kid's refetch: one try, or forged kids
            # would multiply the fetches against a front end that is already failing.
            if self._has_key_set() or elapsed + backoff > JWKS_RETRY_SECONDS:
                log.warning(
                    "JWKS %s unreachable (%d attempt(s) in %.1f s): %s; answering 503",
                    self.keys.uri,
                    attempts,
                    elapsed,
                    failure,
                )
                raise KeysUnavailable(str(failure)) from None
            time.sleep(backoff)
            backoff *= 2

    def _fetch_key(self, token: str) -> jwt.PyJWK:
        try:
            return self.keys.get_signing_key_from_jwt(token)
        except UNREACHABLE:
            raise  # PyJWKClientConnectionError is a PyJWKClientError too, but no verdict
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
            raise InvalidToken(str(error)) from None

    def _has_key_set(self) -> bool:
        cache = self.keys.jwk_set_cache
        return cache is not None and cache.get() is not None


# The back end's role may read only these columns of better-auth's table (revision 0004).
SESSION_EXPIRY = text('SELECT "expiresAt" FROM session WHERE id = :sid AND "userId" = :user_id')


def check_session(db: Session, identity: Identity, now: datetime | None = None) -> None:
    """Raise SignedOut unless the token's session still exists and has not expired.

    A token lives minutes after sign-out (better-auth deletes the row at once): this lookup by
    primary key, once per request, is what makes sign-out take effect immediately.
    """
    params = {"sid": identity.session_id, "user_id": identity.user_id}
    expires = db.execute(SESSION_EXPIRY, params).scalar()
    if expires is None:
        raise SignedOut("the session was signed out")
    if _as_utc(expires) <= (now or datetime.now(UTC)):
        raise SignedOut("the session has expired")


def _as_utc(value: datetime | str | float) -> datetime:
    """PostgreSQL gives a datetime; on SQLite better-auth stores ISO text or epoch milliseconds."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
