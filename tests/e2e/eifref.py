"""An independent reference for the EIF format in Python, written from
EIF-FORMAT.md (not from eifkit's code): it builds the expected bytes and
PCRs that the round-trip tests compare eifkit's output with."""
import hashlib
import json
import struct
import zlib


def pcr(data: bytes) -> str:
    return hashlib.sha384(b"\0" * 48 + hashlib.sha384(data).digest()).hexdigest()


def metadata(name, version, build_time, tool, tool_version, os_, kernel,
             custom=None):
    """serde_json compact bytes; custom holds no floats (Python prints
    them differently from Rust's ryu)."""
    head = {"ImageName": name, "ImageVersion": version,
            "BuildMetadata": {"BuildTime": build_time, "BuildTool": tool,
                              "BuildToolVersion": tool_version,
                              "OperatingSystem": os_, "KernelVersion": kernel}}
    s = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    s += ',"DockerInfo":null,"CustomMetadata":'
    s += json.dumps(custom, separators=(",", ":"), ensure_ascii=False,
                    sort_keys=True)
    return (s + "}").encode()


def build(kernel, cmdline, meta, ramdisks, arm64=False):
    secs = [(1, kernel), (2, cmdline), (5, meta)] + [(3, r) for r in ramdisks]
    offsets, sizes, body, pos = [], [], b"", 548
    for t, data in secs:
        offsets.append(pos)
        sizes.append(len(data))
        body += struct.pack(">HHQ", t, 0, len(data)) + data
        pos += 12 + len(data)
    pad = [0] * (32 - len(secs))
    hdr = struct.pack(">4sHHQQHH32Q32QI", b".eif", 4, 1 if arm64 else 0,
                      1 << 30, 2, 0, len(secs), *(offsets + pad),
                      *(sizes + pad), 0)
    crc = zlib.crc32(hdr + body)
    return hdr + struct.pack(">I", crc) + body


def pcrs(kernel, cmdline, ramdisks):
    return {"HashAlgorithm": "Sha384 { ... }",
            "PCR0": pcr(kernel + cmdline + b"".join(ramdisks)),
            "PCR1": pcr(kernel + cmdline + ramdisks[0]),
            "PCR2": pcr(b"".join(ramdisks[1:]))}
