"""Verify the JWTs that better-auth's JWT plugin issues, against its public JWKS.

The back end fetches the signing keys from AUTH_JWKS_URL rather than sharing a secret with the
front end: only public keys leave better-auth, keys rotate without touching the back end (an
unknown `kid` triggers one refetch), and nothing here can mint tokens.
"""

from __future__ import annotations

import logging
import time

import jwt

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

    def subject(self, token: str) -> str:
        """The verified token's `sub` (the better-auth user id)."""
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.InvalidTokenError as error:
            raise InvalidToken(str(error)) from None
        return str(claims["sub"])

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
