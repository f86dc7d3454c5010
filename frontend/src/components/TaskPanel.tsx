"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api } from "@/lib/api";
import type { Task, TaskSort, TaskStatus } from "@/lib/types";
import { useErrorMessage } from "@/lib/use-error-message";
import { TaskFilters } from "./TaskFilters";
import { TaskForm } from "./TaskForm";
import { TaskItem } from "./TaskItem";

const EMPTY_TEXT: Record<TaskStatus, string> = {
  all: "No tasks yet. Add one above, or ask the assistant.",
  pending: "Nothing pending. Well done!",
  completed: "No completed tasks yet.",
};

function useTaskList(userId: string, status: TaskStatus, sort: TaskSort, revision: number) {
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const describe = useErrorMessage();
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const request = ++latest.current; // answers to older requests are dropped
    try {
      const loaded = await api.listTasks(userId, status, sort);
      if (request === latest.current) {
        setTasks(loaded);
        setError(null);
      }
    } catch (failure) {
      if (request === latest.current) setError(describe(failure));
    }
  }, [userId, status, sort, describe]);

  useEffect(() => {
    void reload();
  }, [reload, revision]);

  return { tasks, setTasks, error, setError, reload, describe };
}

export function TaskPanel({ userId, revision }: { userId: string; revision: number }) {
  const [status, setStatus] = useState<TaskStatus>("all");
  const [sort, setSort] = useState<TaskSort>("created");
  const { tasks, setTasks, error, setError, reload, describe } = useTaskList(
    userId,
    status,
    sort,
    revision,
  );

  /** Runs one change, then shows the list as the back end now has it. */
  const mutate = useCallback(
    async (change: () => Promise<unknown>): Promise<boolean> => {
      try {
        await change();
        await reload();
        return true;
      } catch (failure) {
        // A task gone meanwhile: show the current list, then say why the change failed.
        if (failure instanceof ApiError && failure.status === 404) await reload();
        setError(describe(failure));
        return false;
      }
    },
    [reload, describe, setError],
  );

  const setCompleted = useCallback(
    (id: number, completed: boolean) =>
      setTasks((list) => list?.map((t) => (t.id === id ? { ...t, completed } : t)) ?? null),
    [setTasks],
  );

  /** The checkbox answers at once; a failed toggle puts it back. */
  const toggle = useCallback(
    async (task: Task) => {
      setCompleted(task.id, !task.completed);
      const toggled = await mutate(() => api.toggleTask(userId, task.id));
      if (!toggled) setCompleted(task.id, task.completed);
      return toggled;
    },
    [mutate, setCompleted, userId],
  );

  return (
    <section className="card tasks" aria-labelledby="tasks-heading">
      <h1 id="tasks-heading">My tasks</h1>
      <TaskForm
        onAdd={(title, description) => mutate(() => api.addTask(userId, title, description))}
      />
      <TaskFilters status={status} sort={sort} onStatus={setStatus} onSort={setSort} />
      {error && (
        <div role="alert" className="error banner" data-testid="task-error">
          <span>{error}</span>
          <button type="button" onClick={() => void reload()}>
            Retry
          </button>
        </div>
      )}
      {tasks === null && !error && (
        <p role="status" className="muted">
          Loading tasks…
        </p>
      )}
      {tasks && (
        <>
          <p role="status" className="muted count" data-testid="task-count">
            {tasks.length === 1 ? "1 task" : `${tasks.length} tasks`}
          </p>
          {tasks.length === 0 ? (
            <p className="empty" data-testid="task-empty">
              {EMPTY_TEXT[status]}
            </p>
          ) : (
            <ul className="task-list" aria-label="Tasks" data-testid="task-list">
              {tasks.map((task) => (
                <TaskItem
                  key={task.id}
                  task={task}
                  onToggle={() => toggle(task)}
                  onSave={(title, description) =>
                    mutate(() => api.updateTask(userId, task.id, title, description))
                  }
                  onDelete={() => mutate(() => api.deleteTask(userId, task.id))}
                />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
