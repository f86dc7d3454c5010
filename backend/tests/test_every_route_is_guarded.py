"""Every route in the app's OpenAPI schema is checked, including routes added later: only the
probes are public; every other one answers 401 without a token and 403 with someone else's, and
an id of another user's object answers 404 on the caller's own path, changing nothing."""

from __future__ import annotations

import re

from todo_backend.domain import conversations, tasks

PUBLIC = {("GET", "/health"), ("GET", "/ready")}
SAMPLE_VALUES = {"user_id": "alice", "task_id": "1", "conversation_id": "1"}


def _routes(app) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation the schema documents."""
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE_VALUES[m.group(1)], path)


def test_only_the_probes_are_public(client):
    guarded = [r for r in _routes(client.app) if r not in PUBLIC]
    assert len(guarded) >= 12, f"the route table looks wrong: {guarded}"
    for method, path in guarded:
        response = client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} without a token: {response}"
        assert response.headers.get("www-authenticate") == "Bearer", f"{method} {path}"
    for method, path in PUBLIC:
        assert client.request(method, path).status_code == 200, f"{method} {path}"


def test_no_route_serves_another_users_data(client, auth):
    guarded = [r for r in _routes(client.app) if r not in PUBLIC]
    assert guarded, "no guarded route found in the schema"
    for method, path in guarded:
        response = client.request(method, _concrete(path), json={}, headers=auth("bob"))
        assert response.status_code == 403, f"{method} {path} as bob on alice's data: {response}"


def test_no_route_reaches_another_users_objects(client, session, auth):
    """Bob, on his own path, names alice's task and conversation: 404, and both stay as they were.
    Chat takes the conversation id in its body and the list in its cursor: checked the same way."""
    task = tasks.create_task(session, "alice", "alice's task")
    conversation = conversations.get_or_create_conversation(session, "alice", None)
    conversations.add_message(session, conversation, "user", "alice's message")
    ids = {"user_id": "bob", "task_id": str(task.id), "conversation_id": str(conversation.id)}
    by_id = [r for r in _routes(client.app) if re.search(r"{(task|conversation)_id}", r[1])]
    assert len(by_id) >= 6, f"the route table looks wrong: {by_id}"
    body = {"title": "bob's", "message": "hi", "conversation_id": conversation.id}
    in_body_or_query = [
        ("POST", "/api/{user_id}/chat"),
        ("POST", "/api/{user_id}/chat/stream"),
        ("GET", "/api/{user_id}/conversations?before={conversation_id}"),
    ]
    for method, path in by_id + in_body_or_query:
        concrete = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
        response = client.request(method, concrete, json=body, headers=auth("bob"))
        assert response.status_code == 404, f"{method} {path} with alice's id: {response}"
    session.expire_all()
    assert tasks.get_task(session, "alice", task.id).title == "alice's task"
    kept = conversations.messages_of(session, conversation)
    assert [m.content for m in kept] == ["alice's message"]
