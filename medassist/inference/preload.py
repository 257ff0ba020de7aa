"""Load torch's native libraries without holding Python's global interpreter lock.

``import torch`` maps several hundred megabytes of shared libraries and runs their static
initialisers while it holds the GIL, so a window whose worker thread imports torch freezes
for that long (0.4 s of CPU here, more on a busy machine). Calling the C library's
``dlopen`` through ctypes releases the GIL for the call; once the libraries are mapped,
``import torch`` finds them loaded and only its Python bindings remain (about 45 ms of CPU).
Nothing here imports torch; on a platform without ``dlopen`` it does nothing.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

# dependency order; each is looked up with any suffix (.so, .so.1, .dylib)
TORCH_LIBRARIES = ("libc10", "libtorch_cpu", "libtorch", "libtorch_python")


def torch_library_files() -> list[Path]:
    """The installed torch's main native libraries (empty when torch is absent)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "lib"
    found = []
    for name in TORCH_LIBRARIES:
        found += sorted(p for p in folder.glob(f"{name}.*") if p.suffix in (".so", ".dylib") or ".so." in p.name)[:1]
    return found


def preload_torch_libraries() -> list[Path]:
    """Map torch's native libraries with the GIL released; returns those loaded (call from a worker)."""
    if "torch" in sys.modules or os.name != "posix":
        return []
    try:
        libc = ctypes.CDLL(None)  # a ctypes call releases the GIL for its duration
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return []
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for path in torch_library_files():
        if dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
            loaded.append(path)
    return loaded
