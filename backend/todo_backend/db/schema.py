"""Where the Alembic scripts are and which revision the database is at."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

PACKAGE_DIR = Path(__file__).resolve().parent.parent

# An installed wheel carries the scripts inside the package (see pyproject's force-include);
# a source checkout keeps them beside it, in backend/alembic.
SCRIPT_CANDIDATES = (PACKAGE_DIR / "alembic", PACKAGE_DIR.parent / "alembic")


def script_location() -> Path:
    for candidate in SCRIPT_CANDIDATES:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"no Alembic scripts in {', '.join(map(str, SCRIPT_CANDIDATES))}")


def alembic_config(url: str) -> Config:
    """Alembic settings for `url`, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    # ConfigParser treats % as interpolation; URLs may hold %-escaped passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def script_head() -> str:
    head = ScriptDirectory(str(script_location())).get_current_head()
    if head is None:
        raise RuntimeError("the Alembic scripts have no head revision")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision stamped in the database, None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
