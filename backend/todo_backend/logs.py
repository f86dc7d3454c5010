"""JSON logs: one object per line on stdout, for our loggers and uvicorn's, tokens redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Bearer credentials and anything shaped like a JWT never reach the log, whatever logged them.
SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[^\s\"']+"),
    re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*"),
)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda match: (match.groups() or ("",))[0] + "[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(_access_fields(record))
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def _access_fields(record: logging.LogRecord) -> dict[str, object]:
    """uvicorn's access records carry (client, method, path, http version, status) as args."""
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple):
        return {}
    if len(record.args) != 5:
        return {}
    client, method, path, _version, status = record.args
    return {"client": client, "method": method, "path": redact(str(path)), "status": status}


def configure_logging(level: str = "INFO") -> None:
    """Send every record, uvicorn's included, through one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
