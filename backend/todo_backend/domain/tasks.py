"""Task rules: validation, per-user scoping, listing. Every writer of tasks goes through here.

Functions take a SQLAlchemy session first and commit their own changes. A task id that belongs to
another user raises TaskNotFound exactly like an unknown id, so callers never reveal existence.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from todo_backend.db.models import DESCRIPTION_MAX, TITLE_MAX, Task
from todo_backend.domain.text import unstorable

TaskStatus = Literal["all", "pending", "completed"]
TaskSort = Literal["created", "title"]


class TaskNotFound(LookupError):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"task {task_id} not found")
        self.task_id = task_id


class InvalidTask(ValueError):
    """A field breaks a rule; `field` names it and the message says which rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def _storable(field: str, text: str) -> str:
    reason = unstorable(text)
    if reason:
        raise InvalidTask(field, reason)
    return text


def clean_title(title: str) -> str:
    if not isinstance(title, str):
        raise InvalidTask("title", "must be text")
    title = _storable("title", title).strip()
    if not title:
        raise InvalidTask("title", "must not be empty")
    if len(title) > TITLE_MAX:
        raise InvalidTask("title", f"must be at most {TITLE_MAX} characters")
    return title


def clean_description(description: str | None) -> str | None:
    """Blank descriptions are stored as no description."""
    if description is None:
        return None
    if not isinstance(description, str):
        raise InvalidTask("description", "must be text")
    description = _storable("description", description).strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidTask("description", f"must be at most {DESCRIPTION_MAX} characters")
    return description or None


def create_task(session: Session, user_id: str, title: str, description: str | None = None) -> Task:
    task = Task(
        user_id=user_id,
        title=clean_title(title),
        description=clean_description(description),
        completed=False,
    )
    session.add(task)
    session.commit()
    return task


def list_tasks(
    session: Session, user_id: str, status: TaskStatus = "all", sort: TaskSort = "created"
) -> list[Task]:
    """The user's tasks: `created` lists oldest first, `title` alphabetically ignoring case."""
    if status not in get_args(TaskStatus):
        raise InvalidTask("status", f"must be one of {', '.join(get_args(TaskStatus))}")
    if sort not in get_args(TaskSort):
        raise InvalidTask("sort", f"must be one of {', '.join(get_args(TaskSort))}")
    query = select(Task).where(Task.user_id == user_id)
    if status != "all":
        query = query.where(Task.completed.is_(status == "completed"))
    # The id breaks ties so equal timestamps or titles keep a stable order.
    order = (Task.created_at, Task.id) if sort == "created" else (func.lower(Task.title), Task.id)
    return list(session.scalars(query.order_by(*order)))


def get_task(session: Session, user_id: str, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise TaskNotFound(task_id)
    return task


def update_task(
    session: Session,
    user_id: str,
    task_id: int,
    *,
    title: str | None = None,
    description: str | None = None,
) -> Task:
    """Change the given fields; None leaves a field as it is."""
    task = get_task(session, user_id, task_id)
    if title is not None:
        task.title = clean_title(title)
    if description is not None:
        task.description = clean_description(description)
    session.commit()
    return task


def toggle_complete(session: Session, user_id: str, task_id: int) -> Task:
    task = get_task(session, user_id, task_id)
    task.completed = not task.completed
    session.commit()
    return task


def complete_task(session: Session, user_id: str, task_id: int) -> Task:
    task = get_task(session, user_id, task_id)
    task.completed = True
    session.commit()
    return task


def reopen_task(session: Session, user_id: str, task_id: int) -> Task:
    """Mark a task as not done (again); an open task stays open."""
    task = get_task(session, user_id, task_id)
    task.completed = False
    session.commit()
    return task


def delete_task(session: Session, user_id: str, task_id: int) -> Task:
    """Delete and return the task as it was, so callers can report what went."""
    task = get_task(session, user_id, task_id)
    session.delete(task)
    session.commit()
    return task
