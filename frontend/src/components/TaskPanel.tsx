"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api } from "@/lib/api";
import type { Task, TaskSort, TaskStatus } from "@/lib/types";
import { useErrorMessage } from "@/lib/use-error-message";
import { useUndoableDelete } from "@/lib/use-undoable-delete";
import { TaskFilters } from "./TaskFilters";
import { TaskForm } from "./TaskForm";
import { TaskItem } from "./TaskItem";

const EMPTY_TEXT: Record<TaskStatus, string> = {
  all: "No tasks yet. Add one above, or ask the assistant.",
  pending: "Nothing pending. Well done!",
  completed: "No completed tasks yet.",
};
// Long enough to notice the toast and press Undo.
const UNDO_MS = 5000;

interface TaskError {
  message: string;
  retryable: boolean;
}

function useTaskList(userId: string, status: TaskStatus, sort: TaskSort, revision: number) {
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [error, setError] = useState<TaskError | null>(null);
  const describe = useErrorMessage();
  const latest = useRef(0);

  const fail = useCallback(
    (failure: unknown) =>
      setError({
        message: describe(failure),
        retryable: !(failure instanceof ApiError) || failure.retryable,
      }),
    [describe],
  );

  const reload = useCallback(async () => {
    const request = ++latest.current; // answers to older requests are dropped
    try {
      const loaded = await api.listTasks(userId, status, sort);
      if (request === latest.current) {
        setTasks(loaded);
        setError(null);
      }
    } catch (failure) {
      if (request === latest.current) fail(failure);
    }
  }, [userId, status, sort, fail]);

  useEffect(() => {
    void reload();
  }, [reload, revision]);

  return { tasks, setTasks, error, setError, fail, reload };
}

/** Puts focus back on the list after the focused control went away (a task deleted, or
 * toggled out of a filtered view): on the task now at `index`, else on the new-task input. */
function refocus(list: HTMLUListElement | null, index: number) {
  requestAnimationFrame(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const boxes = list?.querySelectorAll<HTMLInputElement>('[data-testid="task-toggle"]') ?? [];
    const target = boxes[Math.min(index, boxes.length - 1)];
    (target ?? document.getElementById("new-task-title"))?.focus();
  });
}

export function TaskPanel({ userId, revision }: { userId: string; revision: number }) {
  const [status, setStatus] = useState<TaskStatus>("all");
  const [sort, setSort] = useState<TaskSort>("created");
  const { tasks, setTasks, error, setError, fail, reload } = useTaskList(
    userId,
    status,
    sort,
    revision,
  );
  const list = useRef<HTMLUListElement>(null);

  /** Runs one change, then shows the list as the back end now has it. */
  const mutate = useCallback(
    async (change: () => Promise<unknown>): Promise<boolean> => {
      setError(null);
      try {
        await change();
        await reload();
        return true;
      } catch (failure) {
        // A task gone meanwhile: show the current list, then say why the change failed.
        if (failure instanceof ApiError && failure.status === 404) await reload();
        fail(failure);
        return false;
      }
    },
    [reload, fail, setError],
  );

  const deletion = useUndoableDelete(
    (task: Task) => mutate(() => api.deleteTask(userId, task.id)),
    UNDO_MS,
  );
  const visible = tasks?.filter((task) => task.id !== deletion.pending?.id) ?? null;

  const setCompleted = useCallback(
    (id: number, completed: boolean) =>
      setTasks((all) => all?.map((t) => (t.id === id ? { ...t, completed } : t)) ?? null),
    [setTasks],
  );

  /** The checkbox answers at once; a failed toggle puts it back. */
  const toggle = useCallback(
    async (task: Task, index: number) => {
      setCompleted(task.id, !task.completed);
      const toggled = await mutate(() => api.toggleTask(userId, task.id));
      if (!toggled) setCompleted(task.id, task.completed);
      refocus(list.current, index);
      return toggled;
    },
    [mutate, setCompleted, userId],
  );

  function remove(task: Task, index: number) {
    deletion.remove(task);
    refocus(list.current, index);
  }

  function undo() {
    const task = deletion.pending;
    deletion.undo();
    const index = tasks?.findIndex((t) => t.id === task?.id) ?? -1;
    if (index >= 0) refocus(list.current, index);
  }

  /** A blank title is refused here, before the server would. */
  function titled(title: string, change: () => Promise<unknown>): Promise<boolean> {
    if (title) return mutate(change);
    setError({ message: "Enter a title for the task.", retryable: false });
    return Promise.resolve(false);
  }

  // An error about what was typed goes as soon as the input changes.
  const clearInputError = useCallback(() => {
    setError((current) => (current && !current.retryable ? null : current));
  }, [setError]);

  return (
    <section id="tasks" className="card tasks" aria-labelledby="tasks-heading">
      <h1 id="tasks-heading">My tasks</h1>
      <TaskForm
        onAdd={(title, description) => titled(title, () => api.addTask(userId, title, description))}
        onEdit={clearInputError}
      />
      <TaskFilters status={status} sort={sort} onStatus={setStatus} onSort={setSort} />
      {error && (
        <div role="alert" className="error banner" data-testid="task-error">
          <span>{error.message}</span>
          {error.retryable && (
            <button type="button" onClick={() => void reload()} data-testid="task-retry">
              Retry
            </button>
          )}
        </div>
      )}
      {visible === null && !error && (
        <p role="status" className="muted">
          Loading tasks…
        </p>
      )}
      {visible && (
        <>
          <p role="status" className="muted count" data-testid="task-count">
            {visible.length === 1 ? "1 task" : `${visible.length} tasks`}
          </p>
          {visible.length === 0 ? (
            <p className="empty" data-testid="task-empty">
              {EMPTY_TEXT[status]}
            </p>
          ) : (
            <ul ref={list} className="task-list" aria-label="Tasks" data-testid="task-list">
              {visible.map((task, index) => (
                <TaskItem
                  key={task.id}
                  task={task}
                  onToggle={() => toggle(task, index)}
                  onSave={(title, description) =>
                    titled(title, () => api.updateTask(userId, task.id, title, description))
                  }
                  onEdit={clearInputError}
                  onDelete={() => remove(task, index)}
                />
              ))}
            </ul>
          )}
        </>
      )}
      <div className="toast-region" role="status" data-testid="undo-region">
        {deletion.pending && (
          <div className="toast" data-testid="undo-toast">
            <span>Deleted “{deletion.pending.title}”.</span>
            <button type="button" onClick={undo} data-testid="undo-delete">
              Undo
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
