"""`/api/{user_id}/tasks`: the signed-in user's tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from todo_backend.api.deps import ERROR_RESPONSES, NOT_FOUND, CurrentUser, SessionDep
from todo_backend.api.rate_limit import TOO_MANY, WRITE_LIMIT
from todo_backend.api.schemas import ID_MAX, TaskCreate, TaskOut, TaskUpdate
from todo_backend.db.models import Task
from todo_backend.domain import tasks
from todo_backend.domain.tasks import TaskSort, TaskStatus

TaskId = Annotated[int, Path(ge=1, le=ID_MAX)]
router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[TaskOut])
def list_tasks(
    user_id: CurrentUser,
    session: SessionDep,
    status: TaskStatus = "all",
    sort: TaskSort = "created",
) -> list[Task]:
    return tasks.list_tasks(session, user_id, status=status, sort=sort)


@router.post(
    "", response_model=TaskOut, status_code=201, responses=TOO_MANY, dependencies=[WRITE_LIMIT]
)
def create_task(user_id: CurrentUser, session: SessionDep, body: TaskCreate) -> Task:
    return tasks.create_task(session, user_id, body.title, body.description)


@router.get("/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
def get_task(user_id: CurrentUser, session: SessionDep, task_id: TaskId) -> Task:
    return tasks.get_task(session, user_id, task_id)


@router.put(
    "/{task_id}",
    response_model=TaskOut,
    responses={**NOT_FOUND, **TOO_MANY},
    dependencies=[WRITE_LIMIT],
)
def update_task(
    user_id: CurrentUser, session: SessionDep, task_id: TaskId, body: TaskUpdate
) -> Task:
    return tasks.update_task(
        session, user_id, task_id, title=body.title, description=body.description
    )


@router.delete(
    "/{task_id}",
    response_model=TaskOut,
    responses={**NOT_FOUND, **TOO_MANY},
    dependencies=[WRITE_LIMIT],
)
def delete_task(user_id: CurrentUser, session: SessionDep, task_id: TaskId) -> Task:
    """Delete the task and return it as it was."""
    return tasks.delete_task(session, user_id, task_id)


@router.patch(
    "/{task_id}/complete",
    response_model=TaskOut,
    responses={**NOT_FOUND, **TOO_MANY},
    dependencies=[WRITE_LIMIT],
)
def toggle_complete(user_id: CurrentUser, session: SessionDep, task_id: TaskId) -> Task:
    return tasks.toggle_complete(session, user_id, task_id)
