"""Load heavy packages' native libraries without holding Python's global interpreter lock.

``import torch`` (and pandas' ``import pyarrow``) maps hundreds of megabytes of shared libraries
and runs their static initialisers while it holds the GIL, so a window whose worker thread
imports them freezes for that long (0.4 s of CPU for torch here, ~60 ms for pyarrow, more on a
busy machine). Calling the C library's ``dlopen`` through ctypes releases the GIL for the call;
once the libraries are mapped, the import finds them loaded and only its Python bindings remain.
Nothing here imports the packages; on a platform without ``dlopen`` it does nothing.

The C library loads one library at a time (a process-wide lock). A thread that imports a C
extension holds the GIL while it waits for that lock, so while another thread maps torch every
thread stalls on its next extension import: each start-up worker therefore maps all of them
(:func:`preload_native_libraries` with no argument) before it imports anything heavy.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable

# per package: the folder (inside the package) and its main libraries in dependency order;
# each is looked up with any suffix (.so, .so.1, .dylib)
NATIVE_LIBRARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("lib", ("libc10", "libtorch_cpu", "libtorch", "libtorch_python")),
    "pyarrow": (".", ("libarrow", "libarrow_compute", "libparquet", "libarrow_acero", "libarrow_dataset",
                      "libarrow_substrait", "libarrow_python")),
}


def native_library_files(package: str) -> list[Path]:
    """The installed package's main native libraries (empty when it is absent)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return []
    subfolder, names = NATIVE_LIBRARIES[package]
    folder = Path(spec.origin).parent / subfolder
    found = []
    for name in names:
        candidates = [p for p in folder.glob(f"{name}.*") if p.suffix in (".so", ".dylib") or ".so." in p.name]
        # the file named by its soname (libarrow.so.2600) where there are several, else the plain .so
        found += sorted(candidates, key=lambda p: (".so." not in p.name, len(p.name)))[:1]
    return found


def _gil_releasing_dlopen() -> Callable[[bytes, int], int | None] | None:
    """The C library's ``dlopen`` as a ctypes function (a ctypes call releases the GIL for its duration)."""
    if os.name != "posix":
        return None
    try:
        dlopen = ctypes.CDLL(None).dlopen
    except (OSError, AttributeError):
        return None
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return dlopen


# Found once, on import: ``ctypes.CDLL`` itself calls dlopen holding the GIL, so a worker that made
# it while another maps torch would freeze every thread (0.2 s) on the loader's lock.
_DLOPEN = _gil_releasing_dlopen()


def preload_native_libraries(*packages: str) -> list[Path]:
    """Map the packages' native libraries (default: all of :data:`NATIVE_LIBRARIES`) with the GIL
    released; returns those loaded (call from a worker; a library already mapped costs nothing)."""
    if _DLOPEN is None:
        return []
    loaded = []
    for package in packages or tuple(NATIVE_LIBRARIES):
        if package in sys.modules:
            continue
        for path in native_library_files(package):
            if _DLOPEN(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
                loaded.append(path)
    return loaded

