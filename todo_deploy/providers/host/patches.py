"""Source patches to two upstream modules, applied to a writable copy before the build.

cri-dockerd: never ask for an OOM score the host forbids. The kubelet asks for negative OOM
score adjustments (pod sandboxes -998, critical and Guaranteed pods -997). Lowering a score needs
CAP_SYS_RESOURCE; sandboxed VMs may drop it from every process's bounding
set, even root's, and runc then fails every pod with "can't get final child's PID from pipe".
The patch clamps the requested score to the lowest one this host allows, decided at run time,
so the same binary is exact elsewhere.

kube-network-policies: queue packets with the xtables NFQUEUE target (through nft_compat)
instead of nftables' native `queue` statement, which needs CONFIG_NFT_QUEUE: kernels may lack
it, while every kernel that runs iptables has xt_NFQUEUE. And read a
kubeconfig from $KUBECONFIG, because here it runs as a host process, not as an in-cluster pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class PatchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Replacement:
    file: str
    old: str
    new: str
    count: int = 1  # how often `old` must occur: anything else means upstream moved


@dataclass(frozen=True)
class SourcePatch:
    name: str
    replacements: tuple[Replacement, ...]
    new_files: dict[str, str] = field(default_factory=dict)


def apply(patch: SourcePatch, source: Path) -> None:
    """Patch a writable tree; fails loudly (never a silent no-op) if the code moved."""
    for change in patch.replacements:
        path = source / change.file
        text = path.read_text()
        found = text.count(change.old)
        if found != change.count:
            raise PatchError(
                f"{patch.name} patch: expected {change.count}x `{change.old}` in "
                f"{change.file}, found {found}"
            )
        path.write_text(text.replace(change.old, change.new))
    for relative, content in patch.new_files.items():
        (source / relative).write_text(content)


GO_HEADER = "// Added by the todo-deploy host provider (todo_deploy/providers/host/patches.py).\n\n"

OOM_FLOOR_GO = (
    GO_HEADER
    + """package core

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
)

CRI_DOCKERD = SourcePatch(
    "cri-dockerd",
    (
        Replacement(
            "core/helpers_linux.go",
            "createConfig.HostConfig.OomScoreAdj = int(rOpts.OomScoreAdj)",
            "createConfig.HostConfig.OomScoreAdj = clampOOMScoreAdj(int(rOpts.OomScoreAdj))",
        ),
        Replacement(
            "core/sandbox_helpers.go",
            "hc.OomScoreAdj = defaultSandboxOOMAdj",
            "hc.OomScoreAdj = clampOOMScoreAdj(defaultSandboxOOMAdj)",
        ),
    ),
    {"core/oom_floor_linux.go": OOM_FLOOR_GO},
)

COMPAT_QUEUE_GO = (
    GO_HEADER
    + """package networkpolicy

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

const nfqFlagBypass = 0x01 // NFQ_FLAG_BYPASS in linux/netfilter/xt_NFQUEUE.h

// compatQueue is `queue num N [bypass]` as the xtables NFQUEUE target (revision 3), which
// nft_compat runs on kernels built without CONFIG_NFT_QUEUE.
func compatQueue(num uint16, bypass bool) *expr.Target {
	var flags uint16
	if bypass {
		flags = nfqFlagBypass
	}
	// struct xt_NFQ_info_v3 {queuenum, queues_total, flags}, padded to 8 bytes (XT_ALIGN).
	info := make([]byte, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], flags)
	raw := xt.Unknown(info)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &raw}
}
"""
)

NATIVE_QUEUE = """queue := &expr.Queue{Num: uint16(c.config.QueueID)}
	if c.config.FailOpen {
		queue.Flag = expr.QueueFlagBypass
	}"""

KUBE_NETWORK_POLICIES = SourcePatch(
    "kube-network-policies",
    (
        Replacement(
            "pkg/networkpolicy/controller.go",
            NATIVE_QUEUE,
            "queue := compatQueue(uint16(c.config.QueueID), c.config.FailOpen)",
            count=2,
        ),
        Replacement(
            "pkg/networkpolicy/dnsagent.go",
            "&expr.Queue{Num: uint16(n.nfQueueID), Flag: expr.QueueFlagBypass}",
            "compatQueue(uint16(n.nfQueueID), true)",
        ),
        # An empty $KUBECONFIG falls back to the in-cluster config, as upstream does.
        Replacement(
            "cmd/main.go",
            "config, err := rest.InClusterConfig()",
            'config, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))',
        ),
        Replacement(
            "cmd/main.go",
            '"k8s.io/client-go/rest"',
            '"k8s.io/client-go/tools/clientcmd"',
        ),
    ),
    {"pkg/networkpolicy/compat_queue.go": COMPAT_QUEUE_GO},
)
