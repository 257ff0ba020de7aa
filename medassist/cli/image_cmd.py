"""``medassist image info|render``: what a file holds, and the image as the viewer displays it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medassist.atomic import atomic_write
from medassist.errors import InputError
from medassist.imaging.image import WindowLevel
from medassist.imaging.loader import load_image


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("image", help="inspect or render a DICOM file or picture")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    info = verbs.add_parser("info", help="modality, size, frames, bits, photometric, transfer syntax, spacing, window")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=run_info)
    render = verbs.add_parser("render", help="write the displayed image (LUTs applied) as an 8-bit PNG")
    render.add_argument("file", type=Path)
    render.add_argument("--out", type=Path, required=True, help="PNG file to write")
    render.add_argument("--frame", type=int, default=0, help="frame index, from 0 (default 0)")
    render.add_argument("--window", type=parse_window, help="window centre,width in modality units, e.g. -600,1500")
    render.set_defaults(func=run_render)


def parse_window(text: str) -> WindowLevel:
    try:
        center, width = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"window must be CENTRE,WIDTH (e.g. 40,400), not {text!r}") from exc
    if width <= 0:
        raise argparse.ArgumentTypeError("window width must be positive")
    return WindowLevel(center, width)


def image_info(path: Path) -> dict:
    image = load_image(path)
    info = image.describe()
    info["bits_stored"] = image.metadata.get("bits_stored")
    info["transfer_syntax"] = image.metadata.get("transfer_syntax")
    info["file_windows"] = [list(w) for w in image.metadata.get("windows", [])]
    info["sha256"] = image.sha256
    return info


def run_info(args: argparse.Namespace) -> int:
    info = image_info(args.file)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    rows = [
        ("File", info["file"]),
        ("Modality", info["modality"]),
        ("Size", f"{info['columns']} x {info['rows']} pixels"),
        ("Frames", info["frames"]),
        ("Bits stored", info["bits_stored"]),
        ("Photometric", info["photometric_interpretation"]),
        ("Transfer syntax", info["transfer_syntax"]),
        ("Pixel spacing", f"{info['spacing_mm'][0]:g} x {info['spacing_mm'][1]:g} mm ({info.get('spacing_source')})"
         if info["spacing_mm"] else "unknown (measurements in pixels)"),
        ("Default window", f"centre {info['default_window'][0]:g}, width {info['default_window'][1]:g}"
         + ("" if info["file_windows"] else " (full range; none in file)") if info["default_window"] else "colour image"),
        ("Patient", f"{info.get('patient_name') or '-'} (ID {info.get('patient_id') or '-'})"),
        ("Study date", info.get("study_date") or "-"),
        ("SHA-256", info["sha256"]),
    ]
    for label, value in rows:
        print(f"{label + ':':<17}{value}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from PIL import Image

    image = load_image(args.file)
    if not 0 <= args.frame < image.n_frames:
        raise InputError(f"frame {args.frame} does not exist (the image has {image.n_frames} frame(s), 0-{image.n_frames - 1})", args.file)
    shown = image.display_frame(args.frame, args.window)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(shown, "RGB" if shown.ndim == 3 else "L")
    atomic_write(args.out, lambda handle: picture.save(handle, format="PNG"))
    print(f"wrote {args.out} ({shown.shape[1]} x {shown.shape[0]}, frame {args.frame})")
    return 0
