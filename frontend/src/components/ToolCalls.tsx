import type { ToolCall } from "@/lib/types";

function formatArguments(args: Record<string, unknown>): string {
  // user_id is the caller's own id on every call: noise to the reader.
  return Object.entries(args)
    .filter(([name]) => name !== "user_id")
    .map(([name, value]) => `${name}: ${JSON.stringify(value)}`)
    .join(", ");
}

/** The reason a tool reported, or null when it succeeded. */
export function failureOf(call: ToolCall): string | null {
  const result = call.result as { error?: unknown } | null;
  return result && typeof result === "object" && "error" in result ? String(result.error) : null;
}

// A change tool's result names the task and what happened to it (see mcp/todo_mcp/tools.py).
const DONE_VERBS: Record<string, string> = {
  created: "Added",
  completed: "Completed",
  reopened: "Reopened",
  deleted: "Deleted",
  updated: "Updated",
};

/** `Added "buy milk"`: what one successful change did, in words; null for reads. */
function outcomeOf(call: ToolCall): string | null {
  const result = (call.result ?? {}) as { title?: unknown; status?: unknown };
  const verb = typeof result.status === "string" ? DONE_VERBS[result.status] : undefined;
  if (!verb) return null;
  return typeof result.title === "string" ? `${verb} "${result.title}"` : `${verb} a task`;
}

/** When some tools failed: what was done and what was not, in plain words, always visible. */
function Outcome({ calls }: { calls: ToolCall[] }) {
  const done = calls
    .filter((call) => !failureOf(call))
    .map(outcomeOf)
    .filter(Boolean);
  const failed = calls.map(failureOf).filter(Boolean);
  return (
    <div className="outcome" data-testid="tool-outcome">
      {done.length > 0 && <p>Done: {done.join("; ")}.</p>}
      <p className="outcome-failed">Not done: {failed.join("; ")}.</p>
    </div>
  );
}

/** The tools the assistant used for one reply: folded away, with their arguments and results. */
export function ToolCalls({ calls }: { calls: ToolCall[] }) {
  const failures = calls.filter(failureOf).length;
  const label = `${calls.length === 1 ? "1 tool" : `${calls.length} tools`} used`;
  return (
    <>
      {failures > 0 && <Outcome calls={calls} />}
      <details className="tool-calls" data-testid="tool-calls">
        <summary>{failures > 0 ? `${label}, ${failures} failed` : label}</summary>
        <ul>
          {calls.map((call, index) => (
            <li key={index} data-testid="tool-call" data-tool-name={call.name}>
              <code>
                {call.name}({formatArguments(call.arguments)})
              </code>
              <pre>{JSON.stringify(call.result, null, 2)}</pre>
            </li>
          ))}
        </ul>
      </details>
    </>
  );
}
