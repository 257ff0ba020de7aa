"""Files and folders into images: the one way the CLI, the report command and the batch engines open them."""

from __future__ import annotations

from pathlib import Path

from medassist.errors import InputError
from medassist.imaging.image import MedicalImage
from medassist.imaging.loader import load_image, open_images
from medassist.jobs import run_job


def load_images(paths: list[Path]) -> list[MedicalImage]:
    """Files and DICOM folders into images (a folder's slices stacked into series); a path that
    gives no image is an InputError naming it."""
    images: list[MedicalImage] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such image file or folder", path)
        if path.is_dir():
            batch = run_job(open_images(path))
            if not batch.images:
                raise InputError("no readable image in this folder: " + "; ".join(batch.problems[:3]), path)
            images.extend(batch.images)
        else:
            images.append(load_image(path))
    return images
