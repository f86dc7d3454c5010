"""Verify the JWTs that better-auth's JWT plugin issues, against its public JWKS.

The back end fetches the signing keys from AUTH_JWKS_URL rather than sharing a secret with the
front end: only public keys leave better-auth, keys rotate without touching the back end (an
unknown `kid` triggers one refetch), and nothing here can mint tokens.
"""

from __future__ import annotations

import jwt

from todo_backend.config import Settings

ALGORITHMS = ["EdDSA", "ES256", "RS256"]
# The key set is cached for a while, so a key better-auth drops stops working within minutes.
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5
# An unknown `kid` refetches the set at most this often, so forged kids cannot hammer the front end.
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0


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
        try:
            key = self.keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(str(error)) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
            raise InvalidToken(str(error)) from None
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
