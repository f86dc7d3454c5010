"""The ASGI entry point: `uvicorn todo_backend.main:app`. Settings are read once, at import."""

from __future__ import annotations

from todo_backend.app import create_app
from todo_backend.config import ConfigError, Settings, load_settings
from todo_backend.logs import configure_logging


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        # One actionable line and a non-zero exit, no traceback.
        raise SystemExit(str(error)) from None


settings = _settings_or_exit()
configure_logging(settings.log_level)
app = create_app(settings)
