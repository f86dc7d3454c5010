"use client";

import type { TaskSort, TaskStatus } from "@/lib/types";

interface Props {
  status: TaskStatus;
  sort: TaskSort;
  onStatus: (status: TaskStatus) => void;
  onSort: (sort: TaskSort) => void;
}

// Labels point at their selects by id: a wrapping label would add the option texts to its name.
export function TaskFilters({ status, sort, onStatus, onSort }: Props) {
  return (
    <div className="filters">
      <div className="inline-field">
        <label htmlFor="task-filter">Show</label>
        <select
          id="task-filter"
          value={status}
          onChange={(event) => onStatus(event.target.value as TaskStatus)}
          data-testid="task-filter"
        >
          <option value="all">All</option>
          <option value="pending">Pending</option>
          <option value="completed">Completed</option>
        </select>
      </div>
      <div className="inline-field">
        <label htmlFor="task-sort">Sort by</label>
        <select
          id="task-sort"
          value={sort}
          onChange={(event) => onSort(event.target.value as TaskSort)}
          data-testid="task-sort"
        >
          <option value="created">Date added</option>
          <option value="title">Title</option>
        </select>
      </div>
    </div>
  );
}
