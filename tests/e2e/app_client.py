"""A small HTTP client for the deployed app, as a browser would use it through the ingress."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import requests


@dataclass
class AppClient:
    base_url: str  # e.g. http://127.0.0.1:8080
    host: str  # Host header the ingress routes on, e.g. todo.local
    session: requests.Session = field(default_factory=requests.Session)
    user_id: str = ""
    token: str = ""
    origin: str = ""  # the page's origin a browser sends; default http://<host>

    def __post_init__(self) -> None:
        self.origin = self.origin or f"http://{self.host}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Host": self.host, "Origin": self.origin, **kwargs.pop("headers", {})}
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=30, **kwargs
        )

    def sign_up(self, password: str = "correct-horse-battery") -> dict:
        email = f"e2e-{uuid.uuid4().hex[:10]}@example.test"
        response = self.request(
            "POST",
            "/api/auth/sign-up/email",
            json={"email": email, "password": password, "name": "E2E User"},
        )
        response.raise_for_status()
        # A sign-up starts no session (it answers a taken email alike): sign in, as the form does.
        self.sign_in(email, password)
        return {"email": email, "password": password}

    def sign_in(self, email: str, password: str) -> None:
        self.session.cookies.clear()
        response = self.request(
            "POST", "/api/auth/sign-in/email", json={"email": email, "password": password}
        )
        response.raise_for_status()
        self.user_id = response.json()["user"]["id"]

    def fetch_token(self) -> str:
        response = self.request("GET", "/api/auth/token")
        response.raise_for_status()
        self.token = response.json()["token"]
        return self.token

    def tasks_path(self, suffix: str = "") -> str:
        return f"/api/{self.user_id}/tasks{suffix}"
