"""The todo MCP server: task tools over streamable HTTP, backed by the back end's domain layer."""
