"""`python -m todo_mcp`: read the settings, log JSON, serve on HOST:PORT."""

from __future__ import annotations

import uvicorn

from todo_backend.logs import configure_logging
from todo_mcp.app import create_app
from todo_mcp.config import ConfigError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as error:
        raise SystemExit(str(error)) from None  # printed as one line on stderr, exit status 1
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        # No proxy sits in front of this internal service: trust no X-Forwarded-* headers.
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
