"""Torch's and pyarrow's native libraries are mapped before their import (so a worker's import no
longer freezes the GUI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import sys
from medassist.inference.preload import preload_native_libraries
for package in ('torch', 'pyarrow'):
    loaded = preload_native_libraries(package)
    assert package not in sys.modules, 'preloading must not import ' + package
    print(' '.join(p.name for p in loaded))
import pandas, pyarrow, torch
print(float(torch.ones(3).sum()), pyarrow.array([1, 2]).to_pylist(), pandas.Series([1, 2]).sum())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the preload maps ELF libraries with dlopen")
def test_preload_maps_native_libraries_without_importing_their_packages():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=True)
    torch_names, arrow_names, works = out.stdout.split("\n")[:3]
    assert torch_names.split() == ["libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so"]
    arrow = arrow_names.split()
    assert len(arrow) == 7 and arrow[0].startswith("libarrow.so") and arrow[-1].startswith("libarrow_python.so")
    assert works == "3.0 [1, 2] 3"  # the packages still import and work after the preload
