"use client";

import { type FormEvent, useRef, useState } from "react";

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;

export function TaskForm({
  onAdd,
  onEdit,
}: {
  onAdd: (title: string, description: string) => Promise<boolean>;
  onEdit: () => void;
}) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const titleInput = useRef<HTMLInputElement>(null);
  const descriptionInput = useRef<HTMLTextAreaElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  // One save at a time, known at once (state would only be seen on the next render).
  const saving = useRef(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (saving.current) return; // Enter pressed again while saving: the task is added once
    // Read the submitted fields, not state: text typed before hydration is in the DOM only.
    const fields = new FormData(event.currentTarget);
    const sent = {
      title: String(fields.get("title") ?? ""),
      description: String(fields.get("description") ?? ""),
    };
    saving.current = true;
    setBusy(true);
    // Empty at once: whatever is typed while this saves is the next task, and stays.
    setTitle("");
    setDescription("");
    let added = false;
    try {
      added = await onAdd(sent.title.trim(), sent.description.trim());
    } finally {
      saving.current = false;
      setBusy(false);
    }
    if (added) {
      // Back to the title for the next task, unless the user has moved on meanwhile (to the
      // description, the chat, a task): what they type goes on landing where they are.
      const active = document.activeElement;
      if (!active || active === document.body || active === addButton.current) {
        titleInput.current?.focus();
      }
    } else if (!titleInput.current?.value && !descriptionInput.current?.value) {
      // Not saved: the text comes back, unless the next task was started meanwhile (its title
      // is not given the failed task's description).
      setTitle(sent.title);
      setDescription(sent.description);
    }
  }

  return (
    <form className="task-form" onSubmit={onSubmit} onInput={onEdit} aria-label="Add a task">
      <label className="field">
        <span>New task</span>
        <input
          id="new-task-title"
          name="title"
          ref={titleInput}
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          required
          maxLength={TITLE_MAX}
          placeholder="What needs doing?"
          data-testid="new-task-title"
        />
      </label>
      <label className="field">
        <span>Description (optional)</span>
        <textarea
          name="description"
          ref={descriptionInput}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
          maxLength={DESCRIPTION_MAX}
          rows={2}
          data-testid="new-task-description"
        />
      </label>
      <button
        type="submit"
        ref={addButton}
        className="primary"
        disabled={busy}
        data-testid="add-task"
      >
        {busy ? "Adding…" : "Add task"}
      </button>
    </form>
  );
}
