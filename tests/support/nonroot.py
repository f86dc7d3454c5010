"""A normal user for CI, set up the way a laptop is: in the `docker` group, its own fresh clone
of the repository, its own empty suite cache, and a PATH holding only what such a user has
(Python, uv, git, docker, helm, kubectl, kind; no npm, no root-only tools).

CI runs as root; this makes the user (useradd) and runs commands as it (runuser), so the
`invoke` tasks are proven without root. Linux only, run by root: test support, never product.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = "todo-e2e"
GROUP = "docker"
# Passed through from CI's environment: a user behind a TLS-intercepting proxy has these too.
PASSED_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "CI",
)
# What the user's PATH offers from the system besides the tools it is given: Debian's Python
# 3.11 (not root's pyenv), git, a shell, and Debian's docker CLI (it builds with BuildKit).
SYSTEM_TOOLS = {
    "python3": "/usr/bin/python3.11",
    "python3.11": "/usr/bin/python3.11",
    "git": "/usr/bin/git",
    "sh": "/bin/sh",
    "docker": "/usr/bin/docker",
}


class NonRootError(RuntimeError):
    pass


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, text=True, capture_output=True, check=False, **kwargs)
    if result.returncode != 0:
        raise NonRootError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr}")
    return result


@dataclass(frozen=True)
class NonRootUser:
    name: str
    home: Path
    uid: int

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    @property
    def clone(self) -> Path:
        return self.home / "todo"

    @property
    def deploy_cache(self) -> Path:
        """The suite's cache (`todo_deploy.binaries.cache_root()` for this user)."""
        return self.home / ".cache" / "todo-deploy"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        passed = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        return {
            **passed,
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": str(self.bin_dir),
            "LANG": "C.UTF-8",
            "UV_PYTHON_DOWNLOADS": "never",  # the system Python 3.11, as on Debian 12
            "NO_COLOR": "1",
            **(extra or {}),
        }

    def run(
        self,
        argv: list[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess:
        """Run `argv` as this user with only its own environment (no root's variables)."""
        pairs = [f"{k}={v}" for k, v in self.env(env).items()]
        command = ["runuser", "-u", self.name, "--", "env", "-i", *pairs, *argv]
        return subprocess.run(
            command,
            cwd=cwd or self.clone,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def spawn(self, argv: list[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """Start `argv` as this user in its clone, output on one pipe, in its own session (so
        a signal to its group reaches uv and what uv started)."""
        pairs = [f"{k}={v}" for k, v in self.env(env).items()]
        return subprocess.Popen(
            ["runuser", "-u", self.name, "--", "env", "-i", *pairs, *argv],
            cwd=self.clone,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def invoke(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900
    ) -> tuple[float, subprocess.CompletedProcess]:
        """`uv run --frozen invoke ARGS` in the user's clone, as the README tells a user."""
        started = time.monotonic()
        proc = self.run(["uv", "run", "--frozen", "invoke", *args], env=env, timeout=timeout)
        return time.monotonic() - started, proc


def ensure_user(name: str = NAME) -> NonRootUser:
    """The user exists and is in the `docker` group (the engine's socket group)."""
    try:
        _run(["getent", "group", GROUP])
    except NonRootError:
        raise NonRootError(
            f"no `{GROUP}` group: the Docker engine's socket must belong to it "
            "(dockerd --group docker) for a normal user to reach it"
        ) from None
    try:
        pwd.getpwnam(name)
        _run(["usermod", "--append", "--groups", GROUP, name])
    except KeyError:
        _run(["useradd", "--create-home", "--shell", "/bin/sh", "--groups", GROUP, name])
    entry = pwd.getpwnam(name)
    return NonRootUser(name, Path(entry.pw_dir), entry.pw_uid)


def give_tools(user: NonRootUser, tools: Mapping[str, Path]) -> None:
    """The user's whole PATH: copies of `tools` (name -> binary) plus links to system tools.

    Copies, not links, for binaries under root's home (mode 0700 there); `uv` comes along;
    npm never does.
    """
    if user.bin_dir.exists():
        shutil.rmtree(user.bin_dir)
    user.bin_dir.mkdir(parents=True)
    uv = shutil.which("uv")
    missing = [path for path in SYSTEM_TOOLS.values() if not Path(path).exists()]
    if missing or not uv:
        raise NonRootError(f"cannot give {user.name} these, they are missing: {missing or 'uv'}")
    for name, path in SYSTEM_TOOLS.items():
        (user.bin_dir / name).symlink_to(path)
    for name, source in {"uv": _real_uv(uv), **tools}.items():
        shutil.copy2(source, user.bin_dir / name)
        (user.bin_dir / name).chmod(0o755)
    if (user.bin_dir / "npm").exists():
        raise NonRootError("npm ended up on the user's PATH")


def _real_uv(found: str) -> Path:
    """pyenv's `uv` is a shell shim: the user gets the binary it runs."""
    path = Path(os.path.realpath(found))
    if path.read_bytes()[:4] == b"\x7fELF":
        return path
    real = _run(["pyenv", "which", "uv"]).stdout.strip()
    return Path(real)


def fresh_clone(user: NonRootUser, source: Path = ROOT) -> str:
    """A clone of `source`'s HEAD owned by the user (what a new user gets from `git clone`)."""
    if user.clone.exists():
        shutil.rmtree(user.clone)
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(user.clone)])
    commit = _run(["git", "-C", str(user.clone), "rev-parse", "--short", "HEAD"]).stdout.strip()
    _run(["chown", "-R", f"{user.name}:{user.name}", str(user.clone)])
    return commit


def empty_deploy_cache(user: NonRootUser) -> None:
    if user.deploy_cache.exists():
        shutil.rmtree(user.deploy_cache)


def fetched_binaries(user: NonRootUser) -> list[str]:
    """Programs the suite put into the user's cache (helm, kubectl or any other binary)."""
    if not user.deploy_cache.exists():
        return []
    return sorted(
        str(p.relative_to(user.deploy_cache))
        for p in user.deploy_cache.rglob("*")
        if p.is_file() and (p.stat().st_mode & 0o111 or p.name in ("helm", "kubectl"))
    )
