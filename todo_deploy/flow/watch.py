"""`invoke watch`: on save, rebuild only the image whose sources changed and roll only it.

The files watched are the ones each image's content tag hashes (todo_deploy/steps/images.py, which
honours each image's .dockerignore). A batch of changes (debounced) recomputes the tags of the
images whose build context holds a changed file; an image whose tag is unchanged (an ignored file)
is left alone. A changed one is built and loaded, and the release's values get the new tag.

The roll starts before helm records it: the chart renders the new values (`helm template`, a
tenth of a second) and the changed workload alone is applied server-side as helm's own field
manager, the way `helm upgrade` would apply it. Once that workload's rollout is done, `helm
upgrade` with the same values records it: it finds the workload already as rendered, so it
rolls nothing again. Only the changed workload is waited for.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todo_deploy.base.catalogue import Component
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import CommandError
from todo_deploy.base.yamldocs import documents
from todo_deploy.flow import lifecycle as flow
from todo_deploy.steps import images
from todo_deploy.steps.live import live_step
from todo_deploy.steps.target import Target

DEBOUNCE_MS = 1600  # the longest a batch may keep growing
STEP_MS = 150  # quiet time that ends a batch (an editor's save is several writes)
ARMED_POLL_MS = 200  # how soon after the watches are armed we learn it (then an idle wake-up)
ROLLOUT_SECONDS = 120  # an inner loop reports a stuck rollout sooner than a deploy does
WATCH_MAX_UNAVAILABLE = "50%"  # rounded down: a one-replica workload keeps its pod until replaced
HELM_FIELD_MANAGER = "helm"  # the field manager of helm's server-side apply
# A save here needs the back end's migrations run; any other leaves the schema at head.
MIGRATIONS = REPO_ROOT / "backend" / "alembic"


@dataclass(frozen=True)
class Rolled:
    image: str
    ref: str
    seconds: float  # from the batch of changes to the new pods ready


def watch_roots(root: Path = REPO_ROOT) -> list[Path]:
    """Top-level folders and files holding something an image's content tag hashes."""
    tops: set[Path] = set()
    for spec in images.SPECS.values():
        context = root / spec.context
        for rel in images.context_files(spec, root):
            tops.add(root / (context / rel).relative_to(root).parts[0])
        tops.add(root / Path(spec.dockerfile).parts[0])
    return sorted(tops)


def hashed_files(root: Path = REPO_ROOT) -> dict[str, set[Path]]:
    """Per image: the files its content tag hashes, its Dockerfile and its ignore file."""
    files = {}
    for name, spec in images.SPECS.items():
        context = root / spec.context
        kept = {(context / rel).resolve() for rel in images.context_files(spec, root)}
        files[name] = kept | {(root / spec.dockerfile).resolve(), spec.ignore_file(root).resolve()}
    return files


def images_touched(
    paths: Iterable[str | Path], before: dict[str, set[Path]], now: dict[str, set[Path]]
) -> list[str]:
    """Images a changed path belongs to, before or after the change (added, edited, deleted)."""
    changed = {Path(p).resolve() for p in paths}
    return [name for name in now if changed & (before.get(name, set()) | now[name])]


def release_values(target: Target) -> dict[str, Any]:
    """The values the release was given (`helm get values`): what a roll keeps."""
    result = target.helm.run(
        "get", "values", target.config.release, "-o", "json", step="helm get values", mutating=False
    )
    return json.loads(result.stdout or "{}") or {}


def image_refs(values: dict[str, Any], target: Target) -> dict[str, str]:
    """Image refs the values set, by component."""
    refs = {}
    for name, component in target.catalogue.components.items():
        image = (values.get("images") or {}).get(component.image_key) or {}
        if image.get("tag"):
            refs[name] = f"{image.get('repository', component.repository)}:{image['tag']}"
    return refs


@dataclass
class Watcher:
    target: Target
    hooks: flow.Hooks = field(default_factory=flow.Hooks)
    values: dict[str, Any] = field(default_factory=dict)  # the release's values as rolled
    files: dict[str, set[Path]] = field(default_factory=hashed_files)
    migrations_pending: bool = False  # a migration was saved and has not been rolled out yet

    def __post_init__(self) -> None:
        if self.target.config.image_tag_policy != "content":
            # A git tag names the commit: a saved file changes no tag, so nothing would roll.
            raise RuntimeError("invoke watch needs image_tag_policy: content (content tags)")
        self.values = self.values or release_values(self.target)
        if not self.deployed:
            release = self.target.config.release
            raise RuntimeError(f"release {release} sets no image tags: run `invoke deploy` first")

    @property
    def deployed(self) -> dict[str, str]:
        """Image refs the release runs now, by component."""
        return image_refs(self.values, self.target)

    def handle(self, paths: Iterable[str | Path]) -> list[Rolled]:
        """One batch of changed paths: rebuild and roll what changed; what was rolled."""
        started = time.monotonic()
        paths = list(paths)
        if any(Path(p).resolve().is_relative_to(MIGRATIONS.resolve()) for p in paths):
            self.migrations_pending = True
        now = hashed_files()
        deployed = self.deployed
        names = [n for n in images_touched(paths, self.files, now) if n in deployed]
        self.files = now
        if not names:
            return []
        console, runner = self.target.console, self.target.runner
        with live_step(f"checking {', '.join(names)}", console, runner):
            refs = flow.build_and_load(self.target, self.hooks, names)
        changed = {n: ref for n, ref in refs.items() if ref != deployed[n]}
        if not changed:
            return []
        values = self._values_with(changed)
        with live_step(f"rolling {', '.join(changed)}", console, runner):
            seconds = self._roll(changed, values, started)
        self.values = values
        if any(self.target.catalogue[name].migrates for name in changed):
            self.migrations_pending = False
        return [Rolled(name, ref, seconds) for name, ref in changed.items()]

    def _values_with(self, changed: dict[str, str]) -> dict[str, Any]:
        """The release's values with the new image refs and the watch's roll settings."""
        values = copy.deepcopy(self.values)
        for name, ref in changed.items():
            repository, tag = ref.rsplit(":", 1)
            key = self.target.catalogue[name].image_key
            values.setdefault("images", {}).setdefault(key, {}).update(
                repository=repository, tag=tag
            )
        # Half the replicas may restart at once (never a single one): two back ends take one
        # pod start, not two in a row. The migration init container runs only when a migration
        # was saved. `invoke deploy` puts the chart's defaults back.
        values.setdefault("rollingUpdate", {})["maxUnavailable"] = WATCH_MAX_UNAVAILABLE
        values["migrateOnStart"] = self.migrations_pending
        return values

    def _roll(self, changed: dict[str, str], values: dict[str, Any], started: float) -> float:
        """Roll the changed workloads and record the release; seconds from save to serving."""
        components = [self.target.catalogue[name] for name in changed]
        early = self._apply_rendered(values, components)
        if not early:
            self._upgrade(values)
        try:
            for component in components:
                self.target.kube.rollout_status(component.workload, ROLLOUT_SECONDS)
            return time.monotonic() - started
        finally:
            if early:
                # Recorded once the pods are up, failed or not, rather than while they start:
                # on two cores, helm's second of CPU slowed their start about as much.
                self._upgrade(values)

    def _apply_rendered(self, values: dict[str, Any], components: list[Component]) -> bool:
        """Apply the chart's render of their workloads as helm would; False when it cannot."""
        config, helm = self.target.config, self.target.helm
        rendered = helm.run(
            "template", config.release, config.chart, "--values", "-",
            step="helm template (watch)", stdin=json.dumps(values), mutating=False, check=False,
        )  # fmt: skip
        if not rendered.ok:
            return False  # the upgrade reports the chart's error
        wanted = {c.object_name: c.kind for c in components}
        docs = [
            doc
            for doc in documents(rendered.stdout)
            if wanted.get(doc["metadata"]["name"]) == doc["kind"].lower()
        ]
        if len(docs) != len(components):
            return False
        # Helm adds these to every object it owns; left out, the apply would remove them.
        owner = {
            "meta.helm.sh/release-name": config.release,
            "meta.helm.sh/release-namespace": config.namespace,
        }
        for doc in docs:
            doc["metadata"].setdefault("annotations", {}).update(owner)
        applied = self.target.kube.apply_server_side(
            {"apiVersion": "v1", "kind": "List", "items": docs},
            step="apply the new image (watch)",
            manager=HELM_FIELD_MANAGER,
            force=False,
            check=False,
        )
        # Refused (someone else owns a field): the upgrade applies it and says why if it fails.
        return applied.ok

    def _upgrade(self, values: dict[str, Any]) -> None:
        """Record the values on the release: `helm upgrade` with exactly them, no --wait."""
        config = self.target.config
        self.target.helm.run(
            "upgrade", config.release, config.chart, "--reset-values", "--values", "-",
            step="helm upgrade (watch)", stdin=json.dumps(values), timeout=120,
        )  # fmt: skip

    def run(
        self, batches: Iterable[Iterable[str | Path]], say: Callable[[str], None]
    ) -> list[Rolled]:
        """Handle every batch until the iterable ends (Ctrl-C ends watchfiles' one)."""
        rolled: list[Rolled] = []
        for paths in batches:
            try:
                done = self.handle(paths)
            except (CommandError, RuntimeError, ValueError, OSError) as exc:
                message = exc.block() if isinstance(exc, CommandError) else str(exc)
                say(f"[red]not rolled[/]: {message}\n  (fix and save again; still watching)")
                continue
            for item in done:
                say(f"[green]{item.image}[/]: {item.ref} serving {item.seconds:.1f} s after save")
            rolled += done
        return rolled


def file_batches(
    roots: list[Path], ready: Callable[[], None] = lambda: None
) -> Iterable[list[str]]:
    """Debounced batches of changed paths under `roots`, until Ctrl-C.

    `ready()` is called once the watches are in place: a save before that would go unseen, so
    "watching" must not be said earlier. watchfiles arms them when its generator first runs and
    says nothing; its first quiet period (an empty yield) is the sign.
    """
    from watchfiles import DefaultFilter, watch

    armed = False
    for changes in watch(*roots, watch_filter=DefaultFilter(), debounce=DEBOUNCE_MS,
                         step=STEP_MS, rust_timeout=ARMED_POLL_MS, yield_on_timeout=True,
                         raise_interrupt=False):  # fmt: skip
        if not armed:
            armed = True
            ready()
        if changes:
            yield [path for _, path in changes]
