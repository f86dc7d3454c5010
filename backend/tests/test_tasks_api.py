"""The task routes on SQLite and PostgreSQL: CRUD, filters, sorts, validation and not-found."""

from __future__ import annotations

import pytest


@pytest.fixture
def alice(client, auth):
    """A request helper signed in as alice, for alice's own routes."""
    headers = auth("alice")

    def call(method: str, path: str = "", **kwargs):
        return client.request(method, f"/api/alice/tasks{path}", headers=headers, **kwargs)

    return call


def test_create_read_update_delete(alice):
    created = alice("POST", json={"title": "  Buy milk  ", "description": "2 litres"})
    assert created.status_code == 201
    task = created.json()
    assert task["title"] == "Buy milk"
    assert task["completed"] is False
    assert task["user_id"] == "alice"
    assert task["created_at"].endswith(("+00:00", "Z"))

    assert alice("GET", f"/{task['id']}").json()["description"] == "2 litres"

    updated = alice("PUT", f"/{task['id']}", json={"title": "Buy oat milk"})
    assert updated.status_code == 200
    assert updated.json()["title"] == "Buy oat milk"
    assert updated.json()["description"] == "2 litres"

    cleared = alice("PUT", f"/{task['id']}", json={"description": ""})
    assert cleared.json()["description"] is None

    assert alice("DELETE", f"/{task['id']}").json()["title"] == "Buy oat milk"
    assert alice("GET", f"/{task['id']}").status_code == 404
    assert alice("GET").json() == []


def test_complete_toggles(alice):
    task_id = alice("POST", json={"title": "Call mom"}).json()["id"]
    assert alice("PATCH", f"/{task_id}/complete").json()["completed"] is True
    assert alice("PATCH", f"/{task_id}/complete").json()["completed"] is False


def test_filters_and_sorts(alice):
    ids = {title: alice("POST", json={"title": title}).json()["id"] for title in ("b", "C", "a")}
    alice("PATCH", f"/{ids['C']}/complete")

    def titles(**params):
        response = alice("GET", params=params)
        assert response.status_code == 200
        return [task["title"] for task in response.json()]

    assert titles() == ["b", "C", "a"]
    assert titles(sort="title") == ["a", "b", "C"]
    assert titles(status="pending") == ["b", "a"]
    assert titles(status="completed") == ["C"]
    assert titles(status="pending", sort="title") == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "d" * 1001}, "description"),
        ({}, "title"),
        ({"title": 5}, "title"),
    ],
)
def test_invalid_task_is_422_naming_the_field(alice, body, field):
    response = alice("POST", json=body)
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]
    assert alice("GET").json() == []


def test_limits_are_inclusive(alice):
    response = alice("POST", json={"title": "x" * 200, "description": "d" * 1000})
    assert response.status_code == 201


def test_invalid_update_is_422_and_changes_nothing(alice):
    task_id = alice("POST", json={"title": "keep"}).json()["id"]
    response = alice("PUT", f"/{task_id}", json={"title": " "})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert alice("GET", f"/{task_id}").json()["title"] == "keep"


@pytest.mark.parametrize("params", [{"status": "done"}, {"sort": "due"}])
def test_unknown_filter_or_sort_is_422(alice, params):
    response = alice("GET", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/999"), ("PUT", "/999"), ("DELETE", "/999"), ("PATCH", "/999/complete")],
)
def test_unknown_task_is_404(alice, method, path):
    response = alice(method, path, json={"title": "x"} if method == "PUT" else None)
    assert response.status_code == 404
