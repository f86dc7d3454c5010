"""The pure parts of the kind CI support (tests/support/kind): recipes, names, the wrapper."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.kind import componentimages, gobuild, nodeimage, registry, runtime, storage

KIND_STYLE_GO_MOD = """module example.com/x

go 1.24

replace github.com/a/b => github.com/a/b v1.2.3

replace (
\tgithub.com/c/d v0.1.0 => github.com/e/d v0.2.0 // pinned upstream
\tgo.etcd.io/etcd/api/v3 => ../api
\tk8s.io/x => ./staging/x
)
"""


def test_only_published_replaces_are_copied():
    assert gobuild.versioned_replaces(KIND_STYLE_GO_MOD) == [
        "github.com/a/b => github.com/a/b v1.2.3",
        "github.com/c/d v0.1.0 => github.com/e/d v0.2.0",
    ]


def test_a_recipe_change_is_a_new_cache_entry():
    changed = gobuild.GoProgram(**{**gobuild.KIND.__dict__, "ldflags": "-s"})
    assert changed.digest != gobuild.KIND.digest
    assert changed.output != gobuild.KIND.output
    assert gobuild.KIND.output.name == "kind"


def test_containerd_names_match_docker_names():
    assert nodeimage.containerd_name("traefik:v3.6.12") == "docker.io/library/traefik:v3.6.12"
    assert nodeimage.containerd_name("local/x:1") == "docker.io/local/x:1"
    assert nodeimage.containerd_name("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert nodeimage.containerd_name("localhost:5001/x:1") == "localhost:5001/x:1"


def test_sandbox_image_is_read_from_kinds_containerd_config():
    config = (
        '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n'
    )
    assert componentimages.sandbox_image(config) == "registry.k8s.io/pause:3.10"


def test_registry_mirror_patch_names_both_loopback_spellings():
    patch = registry.containerd_config_patch()
    assert '.mirrors."localhost:5001"]' in patch
    assert '.mirrors."127.0.0.1:5001"]' in patch
    assert patch.count(f'endpoint = ["http://{registry.CONTAINER}:5000"]') == 2


def test_ptp_config_keeps_pod_addresses_inside():
    ptp = nodeimage.PTP_CONFLIST["plugins"][0]
    assert ptp["type"] == "ptp" and ptp["ipMasq"] is False
    assert ptp["ipam"]["ranges"] == [[{"subnet": nodeimage.NODE_POD_RANGE}]]


def _wrapper(tmp_path: Path) -> Path:
    """The runtime wrapper with `echo` standing in for runc."""
    script = tmp_path / "wrapper"
    script.write_text(runtime.WRAPPER_SCRIPT.replace(f"exec {runtime.RUNC}", "exec echo runc"))
    script.chmod(0o755)
    return script


def test_wrapper_drops_sys_resource_from_bundle_and_process(tmp_path: Path, require_tool):
    require_tool("jq")
    caps = {"bounding": ["CAP_KILL", "CAP_SYS_RESOURCE"], "effective": ["CAP_SYS_RESOURCE"]}
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps({"process": {"capabilities": caps}}))
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh"], "capabilities": caps}))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"args": ["sh"]}))
    wrapper = _wrapper(tmp_path)
    for argv in (
        ["--root", "/r", "create", "--bundle", str(bundle), "id"],
        ["exec", f"--process={process}", "id"],
        ["exec", "-p", str(bare), "id"],
    ):
        out = subprocess.run([wrapper, *argv], text=True, capture_output=True, check=True)
        assert out.stdout.split() == ["runc", *argv]  # arguments passed on untouched
    stripped = {"bounding": ["CAP_KILL"], "effective": []}
    assert json.loads((bundle / "config.json").read_text())["process"]["capabilities"] == stripped
    assert json.loads(process.read_text())["capabilities"] == stripped
    assert json.loads(bare.read_text()) == {"args": ["sh"]}


def test_kinds_storage_manifest_is_read_with_its_images(tmp_path: Path):
    go = tmp_path / storage.SOURCE
    go.parent.mkdir(parents=True)
    go.write_text(
        'package nodeimage\n\nconst storageProvisionerImage = "docker.io/kindest/p:v1"\n'
        'const storageHelperImage = "docker.io/kindest/h:v2"\n\n'
        "const defaultStorageManifest = `\nimage: ` + storageProvisionerImage + `\n"
        "helper: ` + storageHelperImage + `\n`\n"
    )
    manifest, images = storage.default_storage(tmp_path)
    assert manifest == "\nimage: docker.io/kindest/p:v1\nhelper: docker.io/kindest/h:v2\n"
    assert images == {
        "storageProvisionerImage": "docker.io/kindest/p:v1",
        "storageHelperImage": "docker.io/kindest/h:v2",
    }
