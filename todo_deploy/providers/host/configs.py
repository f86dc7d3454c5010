"""Configuration files the node components read: kubelet, kube-proxy and the CNI network."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from todo_deploy.providers.host.layout import (
    BRIDGE,
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
    Layout,
)
from todo_deploy.providers.host.pki import Pki

# A dev box's disk is often fuller than the kubelet's defaults (10-15 % free) allow: without
# this, pods get evicted and images garbage-collected while the suite deploys.
RELAXED_EVICTION = {
    "memory.available": "100Mi",
    "nodefs.available": "1%",
    "nodefs.inodesFree": "1%",
    "imagefs.available": "1%",
}


def kubelet_config(layout: Layout, pki: Pki) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.path("ca"))},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki.path("kubelet-serving")),
        "tlsPrivateKeyFile": str(pki.path("kubelet-serving", "key")),
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{layout.cri_socket}",
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "failSwapOn": False,
        "evictionHard": RELAXED_EVICTION,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "resolvConf": str(layout.config / "resolv.conf"),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }


def kube_proxy_config(pki: Pki) -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # NodePorts answer on the bridge address only, never on the host's outside interfaces.
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "clientConnection": {"kubeconfig": str(pki.kubeconfig_path("kube-proxy"))},
        "conntrack": {"maxPerCore": 0},
    }


def cni_config(layout: Layout) -> dict:
    """Bridge + host-local IPAM on our own bridge; portmap for hostPort."""
    return {
        "cniVersion": "0.4.0",
        "name": "todo-host",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,  # nothing leaves the host, so nothing to masquerade
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    # In our state, so `down` can drop the leases of the pods it removed.
                    "dataDir": str(layout.ipam_leases),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_all(layout: Layout, pki: Pki) -> None:
    layout.config.mkdir(parents=True, exist_ok=True)
    layout.cni_conf.mkdir(parents=True, exist_ok=True)
    _write_yaml(layout.config / "kubelet.yaml", kubelet_config(layout, pki))
    _write_yaml(layout.config / "kube-proxy.yaml", kube_proxy_config(pki))
    _write(layout.cni_conf / "10-todo-host.conflist", json.dumps(cni_config(layout), indent=2))
    # Pods with dnsPolicy Default get this: no upstream resolver, so nothing a pod looks up
    # is sent beyond this machine (see the network rule in README.md).
    _write(layout.config / "resolv.conf", f"nameserver {DNS_SERVICE_IP}\n")


def _write_yaml(path: Path, data: dict) -> None:
    _write(path, yaml.safe_dump(data, sort_keys=False))


def _write(path: Path, text: str) -> None:
    # kube-proxy exits when its configuration file is written to, even with the same content.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
