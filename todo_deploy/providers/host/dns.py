"""A minimal DNS A query, so the host can ask the cluster DNS without any extra tool."""

from __future__ import annotations

import random
import socket
import struct


def _query(name: str, ident: int) -> bytes:
    header = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)  # recursion desired, 1 question
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return header + labels + b"\x00" + struct.pack(">HH", 1, 1)  # type A, class IN


def resolve_a(server: str, name: str, timeout: float = 2.0) -> list[str]:
    """IPv4 addresses for `name` from `server`:53 over UDP; empty on no answer or error."""
    ident = random.randrange(1 << 16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(_query(name, ident), (server, 53))
            reply = sock.recv(4096)
        except OSError:
            return []
    return parse_a_records(reply, ident)


def parse_a_records(reply: bytes, ident: int) -> list[str]:
    if len(reply) < 12:
        return []
    got_id, flags, questions, answers = struct.unpack(">HHHH", reply[:8])
    if got_id != ident or flags & 0x000F:  # wrong reply, or an error rcode
        return []
    offset = 12
    for _ in range(questions):
        offset = _skip_name(reply, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = _skip_name(reply, offset)
        rtype, _class, _ttl, length = struct.unpack(">HHIH", reply[offset : offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(reply[offset : offset + 4]))
        offset += length
    return addresses


def _skip_name(data: bytes, offset: int) -> int:
    while data[offset]:
        if data[offset] & 0xC0 == 0xC0:  # compression pointer ends the name
            return offset + 2
        offset += data[offset] + 1
    return offset + 1
