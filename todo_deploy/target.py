"""Where and what we deploy, built once per task and handed to every step.

A `Target` bundles the config, the runner every command goes through, the cluster provider,
the helm and kubectl binaries, the console, and the app's component catalogue read from the
chart; `kube` and `helm` are its wrappers for the app's namespace and the provider's context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from todo_deploy import catalogue as chart_catalogue
from todo_deploy.catalogue import Catalogue
from todo_deploy.config import DeployConfig
from todo_deploy.kube import Helm, Kube
from todo_deploy.providers.base import Provider
from todo_deploy.run import Runner
from todo_deploy.tools import Tools


@dataclass
class Target:
    config: DeployConfig
    runner: Runner
    provider: Provider
    tools: Tools
    console: Console
    kube: Kube = field(init=False)
    helm: Helm = field(init=False)
    _catalogue: Catalogue | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        context = self.provider.kube_context or None
        namespace = self.config.namespace
        self.kube = Kube(self.runner, self.tools.kubectl, context, namespace)
        self.helm = Helm(self.runner, self.tools.helm, context, namespace)

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
