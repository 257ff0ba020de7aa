"""Measurements on an image in its own pixel grid: distances in mm where the pixel spacing is known."""

from __future__ import annotations

import math

Point = tuple[float, float]  # (row, column) in pixels


def distance(a: Point, b: Point, spacing_mm: tuple[float, float] | None) -> tuple[float, str]:
    """Length of the segment a-b: (value, "mm") with spacing, else (value, "px")."""
    rows, columns = b[0] - a[0], b[1] - a[1]
    if spacing_mm is None:
        return math.hypot(rows, columns), "px"
    return math.hypot(rows * spacing_mm[0], columns * spacing_mm[1]), "mm"


def angle_degrees(a: Point, vertex: Point, b: Point, spacing_mm: tuple[float, float] | None = None) -> float:
    """Angle a-vertex-b in degrees, in physical space when the pixels are not square."""
    row_scale, column_scale = spacing_mm or (1.0, 1.0)
    u = ((a[0] - vertex[0]) * row_scale, (a[1] - vertex[1]) * column_scale)
    v = ((b[0] - vertex[0]) * row_scale, (b[1] - vertex[1]) * column_scale)
    norm = math.hypot(*u) * math.hypot(*v)
    if norm == 0:
        return 0.0
    cosine = max(-1.0, min(1.0, (u[0] * v[0] + u[1] * v[1]) / norm))
    return math.degrees(math.acos(cosine))


def format_distance(value: float, unit: str) -> str:
    return f"{value:.1f} mm" if unit == "mm" else f"{value:.1f} px"
