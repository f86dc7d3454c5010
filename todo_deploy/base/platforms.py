"""Which OS and CPU this is, which a binary file was built for, and where the hosts file lives.

The suite runs on Linux, macOS and Windows, on x86-64 and arm64; tests pass a `Platform` of
their choosing instead of reading the machine's.
"""

from __future__ import annotations

import platform as _platform
import struct
from dataclasses import dataclass
from pathlib import Path

OS_NAMES = {"linux": "linux", "darwin": "darwin", "windows": "windows"}
ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

# Machine codes in the headers of executables, per format.
ELF_MACHINES = {62: "amd64", 183: "arm64"}
MACHO_CPUS = {0x01000007: "amd64", 0x0100000C: "arm64"}
PE_MACHINES = {0x8664: "amd64", 0xAA64: "arm64"}


@dataclass(frozen=True)
class Platform:
    os: str  # linux, darwin, windows
    arch: str  # amd64, arm64

    @classmethod
    def current(cls) -> Platform:
        system = _platform.system().lower()
        machine = _platform.machine().lower()
        return cls(OS_NAMES.get(system, system), ARCH_NAMES.get(machine, machine))

    @property
    def exe(self) -> str:
        return ".exe" if self.os == "windows" else ""

    def __str__(self) -> str:
        return f"{self.os}-{self.arch}"


def hosts_file(os_name: str) -> Path:
    """The file that maps names to addresses on this OS (where todo.local goes)."""
    if os_name == "windows":
        return Path(r"C:\Windows\System32\drivers\etc\hosts")
    return Path("/etc/hosts")


def binary_platform(path: Path) -> set[Platform]:
    """The platforms an executable was built for, from its header (never run); empty if unknown.

    A macOS universal binary names several architectures.
    """
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return set()
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        endian = "<" if head[5] == 1 else ">"
        arch = ELF_MACHINES.get(struct.unpack(f"{endian}H", head[18:20])[0])
        return {Platform("linux", arch)} if arch else set()
    if head[:4] == b"\xcf\xfa\xed\xfe" and len(head) >= 8:
        arch = MACHO_CPUS.get(struct.unpack("<I", head[4:8])[0])
        return {Platform("darwin", arch)} if arch else set()
    if head[:4] == b"\xca\xfe\xba\xbe" and len(head) >= 8:
        return _fat_macho(head)
    if head[:2] == b"MZ" and len(head) >= 64:
        return _pe(head)
    return set()


def _fat_macho(head: bytes) -> set[Platform]:
    count = struct.unpack(">I", head[4:8])[0]
    found = set()
    for i in range(min(count, (len(head) - 8) // 20)):
        cpu = struct.unpack(">I", head[8 + 20 * i : 12 + 20 * i])[0]
        if cpu in MACHO_CPUS:
            found.add(Platform("darwin", MACHO_CPUS[cpu]))
    return found


def _pe(head: bytes) -> set[Platform]:
    offset = struct.unpack("<I", head[0x3C:0x40])[0]
    if head[offset : offset + 4] != b"PE\0\0":
        return set()
    arch = PE_MACHINES.get(struct.unpack("<H", head[offset + 4 : offset + 6])[0])
    return {Platform("windows", arch)} if arch else set()


def is_wsl(osrelease: Path = Path("/proc/sys/kernel/osrelease")) -> bool:
    """True inside WSL2, where a Windows browser reads the Windows hosts file, not /etc/hosts."""
    try:
        return "microsoft" in osrelease.read_text().lower()
    except OSError:
        return False


def add_hosts_line(line: str, hosts: Path, os_name: str, wsl: bool = False) -> str:
    """How to add `line` to the hosts file `hosts` on this OS, as one short instruction."""
    if os_name == "windows":
        return f"in an Administrator PowerShell: `Add-Content -Path {hosts} -Value '{line}'`"
    if os_name == "darwin":
        return f"`sudo sh -c \"echo '{line}' >> {hosts}\"`"
    how = f"as root: `echo '{line}' >> {hosts}`"
    if wsl:  # the browser usually runs on the Windows side
        how += (
            f"; for a Windows browser also {add_hosts_line(line, hosts_file('windows'), 'windows')}"
        )
    return how
