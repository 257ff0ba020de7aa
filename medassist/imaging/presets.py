"""Window presets a radiologist expects per modality, plus the file's own windows."""

from __future__ import annotations

from medassist.imaging.image import MedicalImage, WindowLevel

CT_PRESETS: tuple[tuple[str, WindowLevel], ...] = (
    ("Lung", WindowLevel(-600, 1500)),
    ("Mediastinum", WindowLevel(40, 400)),
    ("Bone", WindowLevel(400, 1800)),
    ("Brain", WindowLevel(40, 80)),
)


def full_range(image: MedicalImage, frame: int = 0) -> WindowLevel:
    values = image.frames[frame]
    lo, hi = float(values.min()), float(values.max())
    return WindowLevel((lo + hi) / 2, max(hi - lo, 1.0))


def window_presets(image: MedicalImage, frame: int = 0) -> list[tuple[str, WindowLevel | None]]:
    """Choices for the window menu; ``None`` means the file's default (its VOI LUT or first window)."""
    if image.is_color:
        return []
    choices: list[tuple[str, WindowLevel | None]] = [("Default (from file)", None)]
    for center, width, name in image.metadata.get("windows", [])[1:]:
        choices.append((f"{name} ({center:g}/{width:g})", WindowLevel(center, width)))
    if image.modality == "CT":
        choices.extend((f"{name} ({w.center:g}/{w.width:g})", w) for name, w in CT_PRESETS)
    choices.append(("Full range", full_range(image, frame)))
    return choices
