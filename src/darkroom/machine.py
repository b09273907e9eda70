"""What machine a number was measured on: speeds and training times differ between CPUs."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name, how many cores this process may use, and the vector extensions that
    decide convolution speed (AVX-512, VNNI), e.g. ``"AMD EPYC, 2 cores, AVX-512 VNNI"``.  Where
    ``cpuinfo`` cannot be read, the architecture and core count only."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return f"{platform.machine() or 'unknown'} CPU, {cores} cores"
    name = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.machine())
    flags = set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    vnni = " VNNI" if {"avx512_vnni", "avx_vnni"} & flags else ""
    return f"{name}, {cores} cores, {vector}{vnni}"
