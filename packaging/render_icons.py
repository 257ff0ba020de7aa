"""Render the application icon from ``resources/icons/medassist.svg`` into the raster formats
launchers need: PNGs (Linux .desktop, window/taskbar icon), ICO (Windows) and ICNS (macOS).

Run after editing the SVG and commit the results: ``python packaging/render_icons.py``.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICONS / "medassist.svg"))
    if not renderer.isValid():
        raise SystemExit(f"{ICONS / 'medassist.svg'}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (Qt needs an application)
    images = {}
    for size in PNG_SIZES:
        png = render_png(size)
        (ICONS / f"medassist-{size}.png").write_bytes(png)
        images[size] = Image.open(io.BytesIO(png)).convert("RGBA")
    largest = images[max(PNG_SIZES)]
    largest.save(ICONS / "medassist.ico", sizes=[(s, s) for s in ICO_SIZES],
                 append_images=[images[s] for s in ICO_SIZES])
    largest.save(ICONS / "medassist.icns")
    print(f"wrote {len(PNG_SIZES)} PNGs, medassist.ico and medassist.icns to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
