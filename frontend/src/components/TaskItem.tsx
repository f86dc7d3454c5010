"use client";

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { Task } from "@/lib/types";
import { DESCRIPTION_MAX, TITLE_MAX } from "./TaskForm";

interface Props {
  task: Task;
  onToggle: () => Promise<boolean>;
  onSave: (title: string, description: string) => Promise<boolean>;
  /** The input changed: an error about the last attempt no longer applies. */
  onEdit: () => void;
  onDelete: () => void;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function EditForm({
  task,
  onSave,
  onEdit,
  onCancel,
}: {
  task: Task;
  onSave: (title: string, description: string) => Promise<boolean>;
  onEdit: () => void;
  onCancel: () => void;
}) {
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [busy, setBusy] = useState(false);
  const titleInput = useRef<HTMLInputElement>(null);

  useEffect(() => titleInput.current?.focus(), []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    if (!(await onSave(title.trim(), description.trim()))) setBusy(false);
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") onCancel();
  }

  return (
    <form
      className="edit-form"
      onSubmit={onSubmit}
      onInput={onEdit}
      onKeyDown={onKeyDown}
      aria-label={`Edit task ${task.title}`}
    >
      <label className="field">
        <span>Title</span>
        <input
          ref={titleInput}
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          required
          maxLength={TITLE_MAX}
          data-testid="edit-task-title"
        />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          maxLength={DESCRIPTION_MAX}
          rows={2}
          data-testid="edit-task-description"
        />
      </label>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy} data-testid="save-task">
          {busy ? "Saving…" : "Save"}
        </button>
        <button type="button" onClick={onCancel} data-testid="cancel-edit">
          Cancel
        </button>
      </div>
    </form>
  );
}

export function TaskItem({ task, onToggle, onSave, onEdit, onDelete }: Props) {
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const checkboxId = `task-${task.id}-done`;

  async function toggle() {
    if (busy) return; // one toggle at a time
    setBusy(true);
    await onToggle();
    setBusy(false);
  }

  function closeEditor() {
    setEditing(false);
    // Keyboard users land back where they started.
    requestAnimationFrame(() => editButton.current?.focus());
  }

  async function save(title: string, description: string) {
    const saved = await onSave(title, description);
    if (saved) closeEditor();
    return saved;
  }

  return (
    <li
      className={task.completed ? "task done" : "task"}
      data-testid="task-item"
      data-task-id={task.id}
      data-completed={task.completed}
    >
      {editing ? (
        <EditForm task={task} onSave={save} onEdit={onEdit} onCancel={closeEditor} />
      ) : (
        <>
          <input
            id={checkboxId}
            type="checkbox"
            checked={task.completed}
            // Never disabled: a disabled control drops the keyboard focus to the page.
            aria-busy={busy}
            onChange={() => void toggle()}
            data-testid="task-toggle"
          />
          <div className="task-body">
            <label htmlFor={checkboxId} className="task-title" data-testid="task-title">
              {task.title}
            </label>
            {task.description && (
              <p className="task-description" data-testid="task-description">
                {task.description}
              </p>
            )}
            <p className="task-meta">
              #{task.id} · added {dateFormat.format(new Date(task.created_at))}
              {task.completed && " · completed"}
            </p>
          </div>
          <div className="actions">
            <button
              type="button"
              ref={editButton}
              onClick={() => setEditing(true)}
              disabled={busy}
              aria-label={`Edit ${task.title}`}
              data-testid="edit-task"
            >
              Edit
            </button>
            <button
              type="button"
              className="danger"
              onClick={onDelete}
              aria-label={`Delete ${task.title}`}
              data-testid="delete-task"
            >
              Delete
            </button>
          </div>
        </>
      )}
    </li>
  );
}
