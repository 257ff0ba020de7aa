"""Images the chest X-ray input gate must refuse (and chest DICOMs it must accept), for the
training script's gate measurement and the tests.

Each group maps to ``[(name, gray01)]`` where ``gray01`` is the grayscale [0, 1] image the
app would hand the model (``MedicalImage.model_input``). DICOM files are read with pydicom
here so the measurement does not depend on the viewer's loader. Photographs come from
scikit-image's bundled samples (an evaluation-only dependency; the group is empty without it);
drawn scenes (sky, ground, objects, texture) need only Pillow, so tests can use them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from medassist.imaging.image import MedicalImage, WindowLevel

Samples = list[tuple[str, np.ndarray]]
NON_CXR_DICOM = {"ct": "ct", "mr": "mr", "us": "multiframe_other", "nm": "multiframe_other", "xa": "multiframe_other"}


def dicom_frames(path: Path, max_frames: int = 4) -> Samples:
    """Frames of a DICOM file as the viewer would show them (modality LUT, window, MONOCHROME1)."""
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_color_lut, convert_color_space

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    frames_n = int(ds.get("NumberOfFrames", 1) or 1)
    if frames_n == 1:
        arr = arr[None]
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        arr = (arr / max(float(arr.max()), 1.0) * 255).astype(np.uint8)
        photometric = "RGB"
    elif photometric.startswith("YBR"):
        arr = convert_color_space(arr, photometric, "RGB")
        photometric = "RGB"
    if photometric == "RGB":
        frames = arr.astype(np.uint8)
    else:
        frames = apply_modality_lut(arr, ds).astype(np.float32)
    window = None
    if "WindowCenter" in ds and "WindowWidth" in ds and photometric != "RGB":
        center, width = ds.WindowCenter, ds.WindowWidth
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        window = WindowLevel(center, width)
    image = MedicalImage(path=path, frames=frames, photometric=photometric, window=window)
    picks = np.unique(np.linspace(0, image.n_frames - 1, min(max_frames, image.n_frames)).round().astype(int))
    return [(f"{path.name}#{i}", image.model_input(int(i))) for i in picks]


def dicom_group(data: Path, modality: str) -> Samples:
    import pydicom

    folder = data / "dicom" / NON_CXR_DICOM[modality]
    out: Samples = []
    for path in sorted(folder.glob("*.dcm")):
        if str(pydicom.dcmread(path, stop_before_pixels=True).get("Modality", "")).lower() != modality:
            continue
        try:
            out.extend(dicom_frames(path))
        except Exception as exc:  # a codec pydicom lacks here; the file is simply not part of the sample
            print(f"gate samples: skipped {path.name} ({type(exc).__name__})")
    return out


def photographs(seed: int, per_image: int = 4) -> Samples:
    try:
        from skimage import data as skdata
    except ImportError:
        return []
    names = [
        "astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "horse", "hubble_deep_field",
        "immunohistochemistry", "retina", "brick", "grass", "gravel", "clock", "cat", "colorwheel", "logo",
    ]  # fmt: skip
    rng = np.random.default_rng(seed)
    out: Samples = []
    for name in names:
        loader = getattr(skdata, name, None)
        if loader is None:
            continue
        img = np.asarray(loader(), dtype=np.float32)
        if img.ndim == 3:
            img = img[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
        out.append((name, img))
        h, w = img.shape
        for k in range(per_image - 1):
            ch, cw = int(h * rng.uniform(0.5, 0.8)), int(w * rng.uniform(0.5, 0.8))
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            out.append((f"{name}-crop{k}", img[y : y + ch, x : x + cw]))
    return out


def noise_images(seed: int, n: int = 40) -> Samples:
    rng = np.random.default_rng(seed)
    out: Samples = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            img = rng.uniform(0, 1, (256, 256))
        elif kind == 1:
            img = np.clip(rng.normal(0.5, rng.uniform(0.05, 0.3), (256, 256)), 0, 1)
        elif kind == 2:
            img = (rng.uniform(0, 1, (256, 256)) < rng.uniform(0.05, 0.5)).astype(np.float64)
        elif kind == 3:  # smooth blobs: low-frequency noise
            small = rng.uniform(0, 1, (8, 8)).astype(np.float32)
            img = np.asarray(Image.fromarray(small).resize((256, 256), Image.Resampling.BICUBIC))
        else:  # flat field with a gradient
            yy, xx = np.mgrid[0:256, 0:256] / 255.0
            img = rng.uniform(0, 1) * xx + rng.uniform(0, 1) * yy + rng.normal(0, 0.02, (256, 256))
        img = np.asarray(img, dtype=np.float32)
        out.append((f"noise{i}-kind{kind}", np.clip(img, 0, 1)))
    return out


def scenes(seed: int, n: int = 24) -> Samples:
    """Photograph-like drawn scenes: a sky gradient over textured ground, with lit objects and
    shadows. Pillow only, so the tests (which may not import scikit-image) can use them."""
    rng = np.random.default_rng(seed)
    out: Samples = []
    for i in range(n):
        w, h = int(rng.integers(320, 640)), int(rng.integers(240, 480))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        horizon = h * rng.uniform(0.3, 0.7) + np.sin(xx / w * rng.uniform(1, 6) * np.pi) * h * rng.uniform(0, 0.08)
        sky = rng.uniform(0.6, 0.95) - 0.3 * yy / h
        ground = rng.uniform(0.2, 0.5) + rng.normal(0, rng.uniform(0.02, 0.12), (h, w)).astype(np.float32)
        img = np.where(yy < horizon, sky, ground)
        page = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L")
        draw = ImageDraw.Draw(page)
        for _ in range(int(rng.integers(3, 12))):
            x0, y0 = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            x1, y1 = x0 + float(rng.uniform(20, w / 2)), y0 + float(rng.uniform(20, h / 2))
            tone = int(rng.integers(0, 256))
            if rng.random() < 0.5:
                draw.ellipse([x0, y0, x1, y1], fill=tone, outline=int(rng.integers(0, 256)))
            else:
                draw.polygon([(x0, y0), (x1, y0 + rng.uniform(-40, 40)), (x1, y1), (x0 + rng.uniform(-40, 40), y1)],
                             fill=tone)
        gray = np.asarray(page, dtype=np.float32) / 255.0
        out.append((f"scene{i}", np.clip(gray + rng.normal(0, 0.01, gray.shape).astype(np.float32), 0, 1)))
    return out


_WORDS = (
    "patient history discharge summary medication dose daily tablet chest pain admitted hospital blood pressure "
    "laboratory results creatinine glucose follow up clinic radiology report impression findings normal"
).split()


def documents(seed: int, n: int = 40) -> Samples:
    """Rendered text pages: letters, reports, forms; dark-on-light and a few inverted."""
    rng = np.random.default_rng(seed)
    out: Samples = []
    for i in range(n):
        w, h = int(rng.integers(400, 700)), int(rng.integers(500, 900))
        page = Image.new("L", (w, h), int(rng.integers(220, 256)))
        draw = ImageDraw.Draw(page)
        size = int(rng.integers(10, 28))
        try:
            font = ImageFont.load_default(size=size)
        except TypeError:
            font = ImageFont.load_default()
        y = int(rng.integers(10, 40))
        while y < h - size:
            words = " ".join(rng.choice(_WORDS, int(rng.integers(3, 10))))
            draw.text((int(rng.integers(10, 40)), y), words, fill=int(rng.integers(0, 60)), font=font)
            y += int(size * rng.uniform(1.2, 2.0))
        if i % 4 == 3:
            draw.rectangle([20, 20, w - 20, h // 4], outline=0, width=3)
        img = np.asarray(page, dtype=np.float32) / 255.0
        if i % 8 == 7:
            img = 1.0 - img
        out.append((f"document{i}", img))
    return out


def non_cxr_samples(data: Path, seed: int) -> dict[str, Samples]:
    groups = {f"dicom_{m}": dicom_group(data, m) for m in NON_CXR_DICOM}
    groups["photographs"] = photographs(seed)
    groups["noise"] = noise_images(seed)
    groups["drawn_scenes"] = scenes(seed)
    groups["documents"] = documents(seed)
    return {k: v for k, v in groups.items() if v}


def chest_dicom_samples(data: Path) -> dict[str, Samples]:
    """The real chest radiograph DICOMs (CR MONOCHROME1, NIH DX): the gate should accept them."""
    out: Samples = []
    for path in sorted((data / "dicom" / "chest_radiographs").glob("*.dcm")):
        out.extend(dicom_frames(path, max_frames=1))
    return {"chest_dicom": out}
