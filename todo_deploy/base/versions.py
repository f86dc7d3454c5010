"""Kubernetes versions: the one place every cluster-versioned part reads them from.

The host provider builds KUBERNETES, the manifests are validated against its API, kind node
images are made for it; the pinned kubectl client may be one minor ahead (kubectl's skew).
"""

from __future__ import annotations

KUBERNETES = "v1.34.4"
KUBECTL = "v1.35.2"  # the client: within kubectl's one-minor skew of KUBERNETES
