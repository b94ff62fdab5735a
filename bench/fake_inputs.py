#!/usr/bin/env python3
"""bench/fake_inputs.py DIR: the stand-in kernel and app make bench builds
with, so that build's kernel and app checks run as they do for users:
DIR/kernel.bin, a 1,000,000-byte file with an x86_64 bzImage setup header
(boot.rst: boot flag, "HdrS", protocol 2.15, XLF_KERNEL_64, setup_sects
and syssize covering the file, kernel_version), and DIR/app.elf, a
minimal static x86_64 ELF header. Seeded: the same bytes every run."""
import random
import struct
import sys

d = sys.argv[1]
rng = random.Random(7)
k = bytearray(rng.randbytes(1_000_000))
k[0x1f1] = 1
struct.pack_into("<I", k, 0x1f4, (len(k) - 1024) // 16)
struct.pack_into("<H", k, 0x1fe, 0xAA55)
k[0x202:0x206] = b"HdrS"
struct.pack_into("<H", k, 0x206, 0x020f)
struct.pack_into("<H", k, 0x20e, 0x100)
k[0x236] = 1
v = b"6.1.0-bench (bench@eifkit) #1 SMP\0"
k[0x300:0x300 + len(v)] = v
open(f"{d}/kernel.bin", "wb").write(k)
elf = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
    "<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 0, 0, 0, 64, 56, 0, 64, 0, 0)
open(f"{d}/app.elf", "wb").write(elf + bytes(4096 - len(elf)))
