"""The `host` provider: a real single-node Kubernetes on this Linux host (see README.md)."""

from todo_deploy.providers.host.provider import HostClusterError, HostProvider

__all__ = ["HostClusterError", "HostProvider"]
