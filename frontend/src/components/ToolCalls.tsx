import type { ToolCall } from "@/lib/types";

function formatArguments(args: Record<string, unknown>): string {
  // user_id is the caller's own id on every call: noise to the reader.
  return Object.entries(args)
    .filter(([name]) => name !== "user_id")
    .map(([name, value]) => `${name}: ${JSON.stringify(value)}`)
    .join(", ");
}

/** The tools the assistant used for one reply, with their arguments; results on demand. */
export function ToolCalls({ calls }: { calls: ToolCall[] }) {
  return (
    <div className="tool-calls" data-testid="tool-calls">
      <p className="tool-calls-label">Tools used</p>
      <ul>
        {calls.map((call, index) => (
          <li key={index} data-testid="tool-call" data-tool-name={call.name}>
            <code>
              {call.name}({formatArguments(call.arguments)})
            </code>
            <details>
              <summary>Result</summary>
              <pre>{JSON.stringify(call.result, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ul>
    </div>
  );
}
