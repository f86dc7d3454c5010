"""`/api/{user_id}/tasks`: the signed-in user's tasks."""

from __future__ import annotations

from fastapi import APIRouter

from todo_backend.api.deps import CurrentUser, SessionDep
from todo_backend.api.schemas import TaskCreate, TaskOut, TaskUpdate
from todo_backend.db.models import Task
from todo_backend.domain import tasks
from todo_backend.domain.tasks import TaskSort, TaskStatus

router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"])


@router.get("", response_model=list[TaskOut])
def list_tasks(
    user_id: CurrentUser,
    session: SessionDep,
    status: TaskStatus = "all",
    sort: TaskSort = "created",
) -> list[Task]:
    return tasks.list_tasks(session, user_id, status=status, sort=sort)


@router.post("", response_model=TaskOut, status_code=201)
def create_task(user_id: CurrentUser, session: SessionDep, body: TaskCreate) -> Task:
    return tasks.create_task(session, user_id, body.title, body.description)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(user_id: CurrentUser, session: SessionDep, task_id: int) -> Task:
    return tasks.get_task(session, user_id, task_id)


@router.put("/{task_id}", response_model=TaskOut)
def update_task(user_id: CurrentUser, session: SessionDep, task_id: int, body: TaskUpdate) -> Task:
    return tasks.update_task(
        session, user_id, task_id, title=body.title, description=body.description
    )


@router.delete("/{task_id}", response_model=TaskOut)
def delete_task(user_id: CurrentUser, session: SessionDep, task_id: int) -> Task:
    """Delete the task and return it as it was."""
    return tasks.delete_task(session, user_id, task_id)


@router.patch("/{task_id}/complete", response_model=TaskOut)
def toggle_complete(user_id: CurrentUser, session: SessionDep, task_id: int) -> Task:
    return tasks.toggle_complete(session, user_id, task_id)
