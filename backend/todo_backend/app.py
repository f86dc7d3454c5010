"""Assemble the FastAPI app from settings: state, middleware, error handlers, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from todo_backend.api.body_limit import BodyLimit
from todo_backend.api.errors import install_error_handlers
from todo_backend.api.routes import chat, conversations, health, tasks
from todo_backend.auth import TokenVerifier
from todo_backend.config import Settings
from todo_backend.db.session import make_engine, make_sessionmaker


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    docs = settings.api_docs
    app = FastAPI(
        title="Todo AI Chatbot API",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.verifier = TokenVerifier(settings)
    # Added first, so CORS (added next) wraps it: a browser can read the 413 too.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    install_error_handlers(app)
    for module in (health, tasks, chat, conversations):
        app.include_router(module.router)
    return app
