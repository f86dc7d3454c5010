"""One source patch to cri-dockerd: never ask for an OOM score the host forbids.

The kubelet asks for negative OOM score adjustments (pod sandboxes -998, critical and
Guaranteed pods -997). Lowering a score needs CAP_SYS_RESOURCE; some sandboxed VMs (these CI
machines) drop it from every process's bounding set, even root's, and runc then fails every
pod with "can't get final child's PID from pipe". The patch clamps the requested score to the
lowest one this host allows, decided at run time, so the same binary is exact elsewhere.
"""

from __future__ import annotations

from pathlib import Path

OOM_FLOOR_GO = """// Added by the todo-deploy host provider (todo_deploy/providers/host/patches.py).

package core

import (
	"os"
	"strconv"
	"strings"
)

const capSysResource = 24

var minOOMScoreAdj = lowestOOMScoreAdj()

// lowestOOMScoreAdj is -1000, or 0 when CAP_SYS_RESOURCE is not in the bounding set.
func lowestOOMScoreAdj() int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1000
	}
	for _, line := range strings.Split(string(status), "\\n") {
		if value, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
			if err == nil && mask&(1<<capSysResource) == 0 {
				return 0
			}
		}
	}
	return -1000
}

func clampOOMScoreAdj(score int) int {
	if score < minOOMScoreAdj {
		return minOOMScoreAdj
	}
	return score
}
"""

# file -> (exact original line, replacement)
REPLACEMENTS = {
    "core/helpers_linux.go": (
        "createConfig.HostConfig.OomScoreAdj = int(rOpts.OomScoreAdj)",
        "createConfig.HostConfig.OomScoreAdj = clampOOMScoreAdj(int(rOpts.OomScoreAdj))",
    ),
    "core/sandbox_helpers.go": (
        "hc.OomScoreAdj = defaultSandboxOOMAdj",
        "hc.OomScoreAdj = clampOOMScoreAdj(defaultSandboxOOMAdj)",
    ),
}


class PatchError(RuntimeError):
    pass


def patch_cri_dockerd(source: Path) -> None:
    """Apply the OOM clamp to a writable cri-dockerd tree; fails loudly if the code moved."""
    for relative, (old, new) in REPLACEMENTS.items():
        path = source / relative
        text = path.read_text()
        if text.count(old) != 1:
            raise PatchError(f"cri-dockerd patch: expected one `{old}` in {relative}")
        path.write_text(text.replace(old, new))
    (source / "core" / "oom_floor_linux.go").write_text(OOM_FLOOR_GO)
