"""The ASGI app: FastMCP's stateless streamable HTTP endpoint at /mcp, /health, the token gate."""

from __future__ import annotations

from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from todo_backend.db.session import make_engine, make_sessionmaker
from todo_mcp.auth import BearerTokenMiddleware
from todo_mcp.config import McpSettings
from todo_mcp.tools import TaskStore, register_tools

INSTRUCTIONS = "Manage a user's todo list: add, list, complete, reopen, update and delete tasks."


def build_server(sessions: sessionmaker[Session], allowed_hosts: list[str]) -> FastMCP:
    """The MCP server with its tools; stateless so any replica can answer any request."""
    server = FastMCP(
        name="todo",
        instructions=INSTRUCTIONS,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts,
            # Only servers call us; a browser (which sends Origin) never should.
            allowed_origins=[],
        ),
    )
    register_tools(server, TaskStore(sessions))

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return server


def create_app(settings: McpSettings, sessions: sessionmaker[Session] | None = None) -> Starlette:
    """The HTTP app for `settings`; `sessions` defaults to one on settings.database_url."""
    sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    app = build_server(sessions, settings.mcp_allowed_hosts).streamable_http_app()
    app.add_middleware(BearerTokenMiddleware, token=settings.mcp_api_token.get_secret_value())
    return app
