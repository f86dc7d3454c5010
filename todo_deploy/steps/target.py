"""Where and what we deploy, built once per task and handed to every step.

A `Target` bundles the config, the runner every command goes through, the cluster provider,
the helm and kubectl binaries, the console, and the app's component catalogue read from the
chart; `kube` and `helm` are its wrappers for the app's namespace and the provider's context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from todo_deploy.base import catalogue as chart_catalogue
from todo_deploy.base.catalogue import Catalogue
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Helm, Kube
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers.base import Provider


@dataclass
class Target:
    config: DeployConfig
    runner: Runner
    provider: Provider
    tools: Tools
    console: Console
    kube: Kube = field(init=False)
    _helm: Helm | None = field(default=None, init=False)
    _catalogue: Catalogue | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        context = self.provider.kube_context or None
        self.kube = Kube(self.runner, self.tools.kubectl, context, self.config.namespace)

    @property
    def helm(self) -> Helm:
        """Built when first used: a task that never runs helm never resolves (or fetches) it."""
        if self._helm is None:
            context = self.provider.kube_context or None
            self._helm = Helm(self.runner, self.tools.helm, context, self.config.namespace)
        return self._helm

    @property
    def catalogue(self) -> Catalogue:
        """Read from the chart when first needed: preflight reports a missing chart first."""
        if self._catalogue is None:
            self._catalogue = chart_catalogue.load(self.config.chart, self.config.values_files)
        return self._catalogue

    @property
    def secret_name(self) -> str:
        """The Secret the suite applies and the pods read (config, else the chart's name)."""
        return self.config.secret_name or self.catalogue.object_name("secrets")
