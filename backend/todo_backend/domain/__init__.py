"""The task and conversation rules, shared by the REST API and the MCP server."""
