"""The MCP tools: thin typed wrappers over the back end's domain layer, which holds the rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.db.models import Task
from todo_backend.domain import tasks

log = logging.getLogger(__name__)

UserId = Annotated[str, Field(min_length=1, description="The id of the user who owns the tasks")]
TaskId = Annotated[int, Field(description="The task's id, as shown by list_tasks")]


class TaskResult(BaseModel):
    """What a tool did to one task."""

    task_id: int
    status: Literal["created", "completed", "reopened", "deleted", "updated"]
    title: str


class DeletedTask(TaskResult):
    """A deleted task with everything needed to add it back (an undo)."""

    description: str | None
    completed: bool


class UpdatedTask(TaskResult):
    """An updated task with the values it had before (an undo puts them back)."""

    previous_title: str
    previous_description: str | None


class TaskView(BaseModel):
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime


def _result(task: Task, status: str) -> TaskResult:
    return TaskResult(task_id=task.id, status=status, title=task.title)


def _deleted(task: Task) -> DeletedTask:
    return DeletedTask(
        task_id=task.id,
        status="deleted",
        title=task.title,
        description=task.description,
        completed=task.completed,
    )


def _update(
    session: Session, user_id: str, task_id: int, title: str | None, description: str | None
) -> UpdatedTask:
    before = tasks.get_task(session, user_id, task_id)
    previous_title, previous_description = before.title, before.description
    task = tasks.update_task(session, user_id, task_id, title=title, description=description)
    return UpdatedTask(
        task_id=task.id,
        status="updated",
        title=task.title,
        previous_title=previous_title,
        previous_description=previous_description,
    )


def _view(task: Task) -> TaskView:
    return TaskView(
        id=task.id,
        title=task.title,
        description=task.description,
        completed=task.completed,
        created_at=task.created_at,
    )


class TaskStore:
    """Runs domain calls in a worker thread, each in its own session, with tool-friendly errors."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def run(self, operation: Callable[[Session], Any]) -> Any:
        # The domain layer is synchronous; a thread keeps the event loop serving other requests.
        return await anyio.to_thread.run_sync(self._run_sync, operation)

    def _run_sync(self, operation: Callable[[Session], Any]) -> Any:
        try:
            with self.sessions() as session:
                return operation(session)
        except tasks.TaskNotFound as error:
            raise ToolError(f"task {error.task_id} not found") from None
        except tasks.InvalidTask as error:
            raise ToolError(f"invalid {error.field}: {error.reason}") from None
        except SQLAlchemyError:
            # The details (host names, SQL) are for our logs, not for the caller.
            log.exception("database error in a tool call")
            raise ToolError("the task database is unavailable, please try again later") from None


def register_tools(server: FastMCP, store: TaskStore) -> None:
    """Add the six task tools to `server`."""

    @server.tool()
    async def add_task(
        user_id: UserId,
        title: Annotated[str, Field(description="What to do, 1-200 characters")],
        description: Annotated[str | None, Field(description="Optional details")] = None,
    ) -> TaskResult:
        """Create a new task for the user and return its id."""
        return await store.run(
            lambda s: _result(tasks.create_task(s, user_id, title, description), "created")
        )

    @server.tool()
    async def list_tasks(
        user_id: UserId,
        status: Literal["all", "pending", "completed"] = "all",
    ) -> list[TaskView]:
        """List the user's tasks, oldest first; status filters to pending or completed ones."""
        return await store.run(
            lambda s: [_view(task) for task in tasks.list_tasks(s, user_id, status=status)]
        )

    @server.tool()
    async def complete_task(user_id: UserId, task_id: TaskId) -> TaskResult:
        """Mark one of the user's tasks as completed."""
        return await store.run(
            lambda s: _result(tasks.complete_task(s, user_id, task_id), "completed")
        )

    @server.tool()
    async def reopen_task(user_id: UserId, task_id: TaskId) -> TaskResult:
        """Mark one of the user's completed tasks as not done again."""
        return await store.run(
            lambda s: _result(tasks.reopen_task(s, user_id, task_id), "reopened")
        )

    @server.tool()
    async def delete_task(user_id: UserId, task_id: TaskId) -> DeletedTask:
        """Delete one of the user's tasks; the result holds what is needed to add it back."""
        return await store.run(lambda s: _deleted(tasks.delete_task(s, user_id, task_id)))

    @server.tool()
    async def update_task(
        user_id: UserId,
        task_id: TaskId,
        title: Annotated[str | None, Field(description="New title, 1-200 characters")] = None,
        description: Annotated[str | None, Field(description="New description")] = None,
    ) -> UpdatedTask:
        """Change a task's title and/or description; fields left out keep their value."""
        return await store.run(lambda s: _update(s, user_id, task_id, title, description))
