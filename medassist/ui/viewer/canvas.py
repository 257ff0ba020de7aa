"""The drawing surface of the viewer (pyqtgraph): the image, the heatmap layer and measurements.

The heatmap and the measurements are children of the image item, so they share its transform
(aspect from the pixel spacing, rotation, flips) and stay aligned under zoom and pan. All item
coordinates are image pixels: x = column, y = row. GUI thread only.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QLabel, QWidget

from medassist.imaging import measure

MEASURE_PEN = pg.mkPen("#ffd400", width=2)
HANDLE_PEN = pg.mkPen("#ffd400")


class ViewerViewBox(pg.ViewBox):
    """Left-drag pans (or measures), right-drag or Shift+left-drag sets window/level, the wheel
    scrolls frames of a multi-frame image (Ctrl+wheel, or any wheel on a single frame, zooms)."""

    window_dragged = Signal(float, float)  # dx, dy in screen pixels
    frame_step = Signal(int)
    measure_drag = Signal(object, object, bool)  # start QPointF, current QPointF (view coords), finished
    clicked_at = Signal(object)  # QPointF (view coords), left click in a measuring mode

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.mode = "navigate"  # navigate | distance | angle
        self.multi_frame = False

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (pyqtgraph API)
        button, modifiers = ev.button(), ev.modifiers()
        window_drag = button == Qt.MouseButton.RightButton or (
            button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ShiftModifier
        )
        if window_drag:
            ev.accept()
            delta = ev.pos() - ev.lastPos()
            self.window_dragged.emit(float(delta.x()), float(delta.y()))
            return
        if button == Qt.MouseButton.LeftButton and self.mode == "distance":
            ev.accept()
            self.measure_drag.emit(self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos()), ev.isFinish())
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton and self.mode == "angle":
            ev.accept()
            self.clicked_at.emit(self.mapToView(ev.pos()))
            return
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()  # right button is window/level; no context menu
            return
        super().mouseClickEvent(ev)

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (pyqtgraph API)
        if self.multi_frame and not ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            ev.accept()
            self.frame_step.emit(-1 if ev.delta() > 0 else 1)
            return
        super().wheelEvent(ev, axis)


class Measurement:
    """A distance (2 points) or an angle (3 points, vertex in the middle), editable by its handles."""

    def __init__(self, kind: str, points: list[QPointF], parent: pg.ImageItem, spacing: tuple[float, float] | None) -> None:
        self.kind = kind
        self.spacing = spacing
        if kind == "distance":
            self.roi = pg.LineSegmentROI(points, pen=MEASURE_PEN, handlePen=HANDLE_PEN)
        else:
            self.roi = pg.PolyLineROI(points, closed=False, pen=MEASURE_PEN, handlePen=HANDLE_PEN, movable=True)
        self.roi.setParentItem(parent)
        self.label = pg.TextItem(color="#ffd400", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
        self.label.setParentItem(parent)
        self.roi.sigRegionChanged.connect(self.update)
        self.update()

    def points(self) -> list[tuple[float, float]]:
        """(row, column) of each handle, in image pixels."""
        out = []
        for handle in self.roi.getHandles():
            p = self.roi.mapToParent(handle.pos())
            out.append((p.y(), p.x()))
        return out

    def text(self) -> str:
        pts = self.points()
        if self.kind == "distance":
            return measure.format_distance(*measure.distance(pts[0], pts[1], self.spacing))
        return f"{measure.angle_degrees(pts[0], pts[1], pts[2], self.spacing):.1f}°"

    def update(self) -> None:
        pts = self.points()
        anchor = pts[1] if self.kind == "angle" else pts[-1]
        self.label.setText(self.text())
        self.label.setPos(anchor[1], anchor[0])

    def remove(self) -> None:
        for item in (self.roi, self.label):
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)


class ImageCanvas(pg.GraphicsView):
    """Shows one 2-D frame (grey values with window levels, or RGB) with overlays in the corners."""

    pixel_hovered = Signal(int, int)  # row, column under the cursor (-1 when outside)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="k")
        self.view = ViewerViewBox()
        self.setCentralItem(self.view)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self.heatmap_item = pg.ImageItem(axisOrder="row-major")
        self.heatmap_item.setParentItem(self.image_item)
        self.heatmap_item.setZValue(5)
        self.heatmap_item.setVisible(False)
        self.mask_item = pg.ImageItem(axisOrder="row-major")  # presentation mode: burned-in text blacked out
        self.mask_item.setParentItem(self.image_item)
        self.mask_item.setZValue(10)
        self.mask_item.setVisible(False)
        self.notice = QLabel(self)  # why no picture is shown (presentation mode, text not yet checked)
        self.notice.setObjectName("viewerNotice")
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setStyleSheet("color: #f0f0f0; background: rgba(0,0,0,160); padding: 8px;")
        self.notice.hide()
        self.image_shape: tuple[int, int] = (1, 1)
        self.spacing: tuple[float, float] | None = None
        self.rotation = 0
        self.flip_h = False
        self.flip_v = False
        self.measurements: list[Measurement] = []
        self._pending: list[QPointF] = []
        self._drawing: Measurement | None = None
        self.corners = {name: self._corner_label(name) for name in ("tl", "tr", "bl", "br")}
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.view.measure_drag.connect(self._measure_drag)
        self.view.clicked_at.connect(self._angle_click)

    # image --------------------------------------------------------------------------------
    def set_frame(self, data: np.ndarray, levels: tuple[float, float], lut: np.ndarray | None) -> None:
        self.image_item.setImage(data, levels=levels, lut=lut, autoLevels=False)

    def set_levels(self, levels: tuple[float, float]) -> None:
        self.image_item.setLevels(levels)

    def set_geometry(self, shape: tuple[int, int], spacing: tuple[float, float] | None) -> None:
        """A new image: forget measurements and orientation, then fit it to the window."""
        self.clear_measurements()
        self.image_shape, self.spacing = shape, spacing
        self.rotation, self.flip_h, self.flip_v = 0, False, False
        self._apply_transform()

    def rotate(self, degrees: int) -> None:
        self.rotation = (self.rotation + degrees) % 360
        self._apply_transform()

    def flip(self, horizontal: bool) -> None:
        if horizontal:
            self.flip_h = not self.flip_h
        else:
            self.flip_v = not self.flip_v
        self._apply_transform()

    def reset_orientation(self) -> None:
        self.rotation, self.flip_h, self.flip_v = 0, False, False
        self._apply_transform()

    def _apply_transform(self) -> None:
        rows, columns = self.image_shape
        aspect = self.spacing[0] / self.spacing[1] if self.spacing else 1.0
        cx, cy = columns / 2, rows * aspect / 2
        transform = QTransform()
        transform.translate(cx, cy)
        transform.rotate(self.rotation)
        transform.scale(-1 if self.flip_h else 1, -1 if self.flip_v else 1)
        transform.translate(-cx, -cy)
        transform.scale(1, aspect)
        self.image_item.setTransform(transform)
        self.fit()

    def fit(self) -> None:
        self.view.autoRange(items=[self.image_item], padding=0.02)

    def zoom(self, factor: float) -> None:
        self.view.scaleBy((1 / factor, 1 / factor))

    def view_scale(self) -> float:
        """Screen pixels per image pixel (1.0 = 100 %)."""
        width = self.view.viewRect().width()
        return self.view.width() / width if width else 1.0

    def set_mask(self, mask: np.ndarray | None, notice: str = "") -> None:
        """Black out ``mask`` (True = hidden) over the picture; with a ``notice``, hide the picture altogether."""
        hidden = bool(notice)
        self.image_item.setVisible(not hidden)  # its children (heatmap, mask, measurements) go with it
        if mask is None or hidden:
            self.mask_item.clear()
            self.mask_item.setVisible(False)
        else:
            rgba = np.zeros(mask.shape + (4,), dtype=np.uint8)
            rgba[mask, 3] = 255
            self.mask_item.setImage(rgba, autoLevels=False, levels=(0, 255))
            self.mask_item.setRect(QRectF(0, 0, mask.shape[1], mask.shape[0]))
            self.mask_item.setVisible(True)
        self.notice.setText(notice)
        self.notice.setVisible(hidden)
        self._place_corners()

    # heatmap ------------------------------------------------------------------------------
    def set_heatmap(self, heatmap: np.ndarray | None, colormap: str, opacity: float) -> None:
        if heatmap is None:
            self.heatmap_item.clear()
            self.heatmap_item.setVisible(False)
            return
        values = np.nan_to_num(np.asarray(heatmap, dtype=np.float32))
        lo, hi = float(values.min()), float(values.max())
        values = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        rows, columns = self.image_shape
        if values.shape != (rows, columns):  # a coarse map (e.g. 7 x 7 Grad-CAM) is interpolated, not shown as blocks
            values = np.asarray(Image.fromarray(values, mode="F").resize((columns, rows), Image.Resampling.BILINEAR))
        lut = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, 256, alpha=True)
        lut[:, 3] = np.clip(np.linspace(0, 1.6, 256), 0, 1) * 255  # low saliency stays transparent
        self.heatmap_item.setImage(values, levels=(0.0, 1.0), lut=lut, autoLevels=False)
        self.heatmap_item.setRect(QRectF(0, 0, columns, rows))
        self.heatmap_item.setOpacity(opacity)
        self.heatmap_item.setVisible(True)

    # measurements -------------------------------------------------------------------------
    def add_measurement(self, kind: str, points_rc: list[tuple[float, float]]) -> Measurement:
        """Place a measurement from (row, column) image points."""
        item = Measurement(kind, [QPointF(c, r) for r, c in points_rc], self.image_item, self.spacing)
        self.measurements.append(item)
        return item

    def clear_measurements(self) -> None:
        for item in self.measurements:
            item.remove()
        self.measurements.clear()
        self.cancel_pending()

    def cancel_pending(self) -> None:
        """Forget the clicks of an angle not yet finished (the tool changed)."""
        self._pending.clear()

    def _to_image(self, view_point: QPointF) -> QPointF:
        return self.image_item.mapFromView(view_point)

    def _measure_drag(self, start: QPointF, current: QPointF, finished: bool) -> None:
        a, b = self._to_image(start), self._to_image(current)
        if self._drawing is None:
            self._drawing = self.add_measurement("distance", [(a.y(), a.x()), (b.y(), b.x())])
        else:
            handles = self._drawing.roi.getHandles()
            self._drawing.roi.movePoint(handles[1], b, finish=finished)
        if finished:
            if math.hypot(b.x() - a.x(), b.y() - a.y()) < 1:
                self.measurements.remove(self._drawing)
                self._drawing.remove()
            self._drawing = None

    def _angle_click(self, view_point: QPointF) -> None:
        self._pending.append(self._to_image(view_point))
        if len(self._pending) == 3:
            self.add_measurement("angle", [(p.y(), p.x()) for p in self._pending])
            self._pending.clear()

    # cursor and corners ------------------------------------------------------------------------
    def _mouse_moved(self, scene_pos) -> None:
        p = self.image_item.mapFromScene(scene_pos)
        row, column = int(math.floor(p.y())), int(math.floor(p.x()))
        rows, columns = self.image_shape
        inside = 0 <= row < rows and 0 <= column < columns and self.image_item.image is not None
        self.pixel_hovered.emit(row if inside else -1, column if inside else -1)

    def _corner_label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(f"viewerCorner_{name}")
        label.setStyleSheet("color: #f0f0f0; background: rgba(0,0,0,110); padding: 2px 4px; font-size: 11px;")
        label.setAlignment(Qt.AlignmentFlag.AlignRight if name.endswith("r") else Qt.AlignmentFlag.AlignLeft)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        return label

    def set_corner_text(self, name: str, text: str) -> None:
        label = self.corners[name]
        label.setText(text)
        label.setVisible(bool(text) and label.property("allowed") is not False)
        label.adjustSize()
        self._place_corners()

    def set_corners_visible(self, names: tuple[str, ...], visible: bool) -> None:
        for name in names:
            label = self.corners[name]
            label.setProperty("allowed", visible)
            label.setVisible(visible and bool(label.text()))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._place_corners()

    def _place_corners(self) -> None:
        if not hasattr(self, "corners"):  # pyqtgraph resizes during its own __init__
            return
        margin, width, height = 6, self.width(), self.height()
        self.notice.setFixedWidth(max(width - 40, 100))
        self.notice.adjustSize()
        self.notice.move(20, max((height - self.notice.height()) // 2, 0))
        for name, label in self.corners.items():
            label.adjustSize()
            x = margin if name.endswith("l") else width - label.width() - margin
            y = margin if name.startswith("t") else height - label.height() - margin
            label.move(max(x, 0), max(y, 0))
