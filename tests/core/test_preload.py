"""Torch's native libraries are mapped before ``import torch`` (so a worker's import no longer freezes the GUI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import sys
from medassist.inference.preload import preload_torch_libraries
loaded = preload_torch_libraries()
assert 'torch' not in sys.modules, 'preloading must not import torch'
print(' '.join(p.name for p in loaded))
import torch
print(float(torch.ones(3).sum()))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the preload maps ELF libraries with dlopen")
def test_preload_maps_torch_libraries_without_importing_torch():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=True)
    names, total = out.stdout.split("\n")[:2]
    assert names.split() == ["libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so"]
    assert total == "3.0"  # torch still imports and works after the preload
