"use client";

import type { TaskSort, TaskStatus } from "@/lib/types";

interface Props {
  status: TaskStatus;
  sort: TaskSort;
  onStatus: (status: TaskStatus) => void;
  onSort: (sort: TaskSort) => void;
}

export function TaskFilters({ status, sort, onStatus, onSort }: Props) {
  return (
    <div className="filters">
      <label className="inline-field">
        <span>Show</span>
        <select
          value={status}
          onChange={(event) => onStatus(event.target.value as TaskStatus)}
          data-testid="task-filter"
        >
          <option value="all">All</option>
          <option value="pending">Pending</option>
          <option value="completed">Completed</option>
        </select>
      </label>
      <label className="inline-field">
        <span>Sort by</span>
        <select
          value={sort}
          onChange={(event) => onSort(event.target.value as TaskSort)}
          data-testid="task-sort"
        >
          <option value="created">Date added</option>
          <option value="title">Title</option>
        </select>
      </label>
    </div>
  );
}
