"""The image viewer widget: toolbar, canvas, frame slider with cine, pixel readout.

Window/level is done by pyqtgraph's levels on the modality-LUT values (no re-rendering while
dragging); the file's non-linear VOI LUT is used until the user changes the window.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medassist.imaging.image import MedicalImage, WindowLevel
from medassist.imaging.presets import full_range, window_presets
from medassist.privacy import WITHHELD, ShownPolicy
from medassist.ui.viewer.canvas import ImageCanvas
from medassist.ui.widgets.fitting import FlowLayout, labelled

INVERTED_LUT = np.repeat(np.arange(255, -1, -1, dtype=np.uint8)[:, None], 3, axis=1)
HEATMAP_COLORMAPS = ("inferno", "turbo", "viridis", "plasma", "CET-L17")


class ImageViewer(QWidget):
    """One image at a time; the Images tab feeds it and adds thumbnails and the tag browser."""

    frame_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenting = False
        self.shown: ShownPolicy | None = None  # what may be shown of the image's patient (set by the Images tab)
        self.guard = None  # the PixelGuard that masks burned-in text in presentation mode (set by the Images tab)
        self.image: MedicalImage | None = None
        self.frame = 0
        self.window: WindowLevel | None = None  # None: the file's default (VOI LUT or first window)
        self.user_invert = False
        self._overlay: tuple[MedicalImage, int, np.ndarray, str] | None = None

        self.canvas = ImageCanvas(self)
        self.toolbar = QToolBar("Viewer")  # view: zoom, orientation, inversion
        self.tools_bar = QToolBar("Window and measure")  # window, measuring tools, corners
        for bar in (self.toolbar, self.tools_bar):
            bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._build_toolbar()
        # side by side while both fit the viewer's width, else one above the other (a narrow window, or the
        # large type of presentation mode, would push tools out of view)
        self.toolbars = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.toolbars.setContentsMargins(0, 0, 0, 0)
        self.toolbars.addWidget(self.toolbar)
        self.toolbars.addWidget(self.tools_bar, 1)
        self._build_frame_bar()
        self._build_overlay_bar()
        self.readout = QLabel("Move the mouse over the image for pixel values.")
        self.readout.setObjectName("pixelReadout")
        self.readout.setWordWrap(True)  # the values wrap under a narrow viewer rather than widen the window
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.toolbars)
        layout.addWidget(self.overlay_bar)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.frame_bar)
        layout.addWidget(self.readout)

        self.cine = QTimer(self)
        self.cine.timeout.connect(lambda: self.step_frame(1, wrap=True))
        self.canvas.view.window_dragged.connect(self._window_dragged)
        self.canvas.view.frame_step.connect(self.step_frame)
        self.canvas.view.sigRangeChanged.connect(lambda *_: self._update_corners())
        self.canvas.pixel_hovered.connect(self._show_pixel)
        self._shortcuts()
        self._set_enabled(False)

    # construction -----------------------------------------------------------------------------
    def _action(self, text: str, tip: str, slot, checkable: bool = False, bar: QToolBar | None = None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        (bar or self.toolbar).addAction(action)
        return action

    def _build_toolbar(self) -> None:
        self.fit_action = self._action("Fit", "Fit the image to the window (F)", lambda: self.canvas.fit())
        self._action("Zoom +", "Zoom in (Ctrl+wheel also zooms)", lambda: self.canvas.zoom(1.25))
        self._action("Zoom −", "Zoom out", lambda: self.canvas.zoom(0.8))
        self.toolbar.addSeparator()
        self._action("⟲ 90°", "Rotate 90° counter-clockwise", lambda: self.canvas.rotate(-90))
        self._action("⟳ 90°", "Rotate 90° clockwise", lambda: self.canvas.rotate(90))
        self._action("Flip H", "Flip left-right", lambda: self.canvas.flip(True))
        self._action("Flip V", "Flip top-bottom", lambda: self.canvas.flip(False))
        self.invert_action = self._action("Invert", "Invert grey levels (I)", self.set_invert, checkable=True)
        self._action("Reset", "Reset zoom, orientation, window and inversion (R)", self.reset_view)
        self.toolbar.addSeparator()
        self.tools_bar.addWidget(QLabel(" Window "))
        self.window_combo = QComboBox()
        self.window_combo.setObjectName("windowPresets")
        self.window_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.window_combo.currentTextChanged.connect(lambda text: self.window_combo.setToolTip(
            f"Window: {text}. Presets; right-drag (or Shift+drag) on the image adjusts width (left-right) and level "
            "(up-down)"))  # the full choice, should a narrow toolbar cut it
        self.window_combo.activated.connect(self._preset_chosen)
        self.tools_bar.addWidget(self.window_combo)
        self.tools_bar.addSeparator()
        tools = QActionGroup(self)
        self.tool_actions = {}
        for mode, text, tip in (
            ("navigate", "Pan", "Left-drag pans, wheel scrolls frames, Ctrl+wheel zooms"),
            ("distance", "Distance", "Drag to measure a distance (mm when the pixel spacing is known)"),
            ("angle", "Angle", "Click three points: arm, vertex, arm"),
        ):
            action = self._action(text, tip, lambda _checked=False, m=mode: self.set_tool(m), checkable=True, bar=self.tools_bar)
            tools.addAction(action)
            self.tool_actions[mode] = action
        self.tool_actions["navigate"].setChecked(True)
        self._action("Clear", "Remove all measurements", lambda: self.canvas.clear_measurements(), bar=self.tools_bar)
        self.tools_bar.addSeparator()
        self.demographics_action = self._action(
            "Demographics", "Show patient name, ID, study date and modality in the corners", self.set_demographics_visible,
            checkable=True, bar=self.tools_bar,
        )
        self.demographics_action.setChecked(True)

    def _build_frame_bar(self) -> None:
        self.frame_bar = QWidget()
        row = QHBoxLayout(self.frame_bar)
        row.setContentsMargins(4, 0, 4, 0)
        self.play_button = QToolButton()
        self.play_button.setText("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Cine: play the frames in a loop (Space)")
        self.play_button.toggled.connect(self.set_playing)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setSuffix(" fps")
        self.fps.valueChanged.connect(lambda value: self.cine.setInterval(int(1000 / value)))
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setObjectName("frameSlider")
        self.frame_slider.valueChanged.connect(self.set_frame)
        self.frame_label = QLabel()
        for widget in (self.play_button, self.fps):
            row.addWidget(widget)
        row.addWidget(self.frame_slider, 1)
        row.addWidget(self.frame_label)

    def _build_overlay_bar(self) -> None:
        self.overlay_bar = QWidget()
        row = FlowLayout(self.overlay_bar)  # wraps under a narrow viewer instead of widening the window
        row.setContentsMargins(4, 0, 4, 0)
        self.overlay_toggle = QCheckBox("Heatmap")
        self.overlay_toggle.setChecked(True)
        self.overlay_toggle.toggled.connect(lambda _on: self._render_overlay())
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(HEATMAP_COLORMAPS)
        self.colormap_combo.currentTextChanged.connect(lambda _name: self._render_overlay())
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setToolTip("Heatmap opacity")
        self.opacity_slider.valueChanged.connect(lambda value: self.canvas.heatmap_item.setOpacity(value / 100))
        self.overlay_label = QLabel()
        for widget in (self.overlay_toggle, self.colormap_combo, labelled("Opacity", self.opacity_slider),
                       self.overlay_label):
            row.addWidget(widget)
        self.overlay_bar.setVisible(False)

    def _shortcuts(self) -> None:
        for key, slot in (
            ("F", self.canvas.fit),
            ("R", self.reset_view),
            ("I", lambda: self.invert_action.trigger()),
            ("Space", lambda: self.play_button.toggle() if self.play_button.isEnabled() else None),
            (QKeySequence.StandardKey.MoveToNextPage, lambda: self.step_frame(1)),
            (QKeySequence.StandardKey.MoveToPreviousPage, lambda: self.step_frame(-1)),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _set_enabled(self, enabled: bool) -> None:
        self.toolbar.setEnabled(enabled)
        self.tools_bar.setEnabled(enabled)
        multi = enabled and self.image is not None and self.image.n_frames > 1
        self.frame_bar.setVisible(multi)
        self.play_button.setEnabled(multi)

    # showing an image ---------------------------------------------------------------------------
    def set_image(self, image: MedicalImage | None, frame: int = 0) -> None:
        self.set_playing(False)
        self.image = image
        if image is None:
            self.canvas.image_item.clear()
            self.canvas.set_heatmap(None, "inferno", 0)
            for name in self.canvas.corners:
                self.canvas.set_corner_text(name, "")
            self._set_enabled(False)
            return
        self.frame = min(max(frame, 0), image.n_frames - 1)
        self.window = None
        self.user_invert = False
        self.invert_action.setChecked(False)
        self.canvas.view.multi_frame = image.n_frames > 1
        self._fill_presets()
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, image.n_frames - 1)
        self.frame_slider.setValue(self.frame)
        self.frame_slider.blockSignals(False)
        frame_time = image.metadata.get("frame_time_ms")
        self.fps.setValue(int(round(1000 / frame_time)) if frame_time else 10)
        self._set_enabled(True)
        self._render()
        self.canvas.set_geometry(image.shape, image.spacing_mm)
        self._render_overlay()

    def _fill_presets(self) -> None:
        self.window_combo.clear()
        self.presets = window_presets(self.image, self.frame) if self.image else []
        for name, _level in self.presets:
            self.window_combo.addItem(name)
        self.window_combo.setEnabled(bool(self.presets))

    def current_window(self) -> WindowLevel | None:
        """The linear window in use; ``None`` for colour images or while the file's VOI LUT applies."""
        image = self.image
        if image is None or image.is_color:
            return None
        if self.window is not None:
            return self.window
        if image.voi_lut is not None:
            return None
        return image.window or full_range(image, 0)

    def _render(self) -> None:
        image = self.image
        if image is None:
            return
        values = image.frames[self.frame]
        if image.is_color:
            data = 255 - values if self.user_invert else values
            self.canvas.set_frame(data, (0, 255), None)
        else:
            window = self.current_window()
            if window is None:
                data, levels = image.voi_lut(values), (0.0, 1.0)
            else:
                data, levels = values, (window.low, window.high)
            inverted = image.inverted != self.user_invert
            self.canvas.set_frame(data, levels, INVERTED_LUT if inverted else None)
        self.mask_text()
        self._update_corners()

    def set_window(self, window: WindowLevel | None) -> None:
        """Apply a window (``None``: back to the file's default)."""
        needs_render = self.window is None or window is None
        self.window = window
        if needs_render:
            self._render()
        else:
            self.canvas.set_levels((window.low, window.high))
            self._update_corners()

    def _preset_chosen(self, index: int) -> None:
        if 0 <= index < len(self.presets):
            self.set_window(self.presets[index][1])

    def choose_preset(self, name: str) -> None:
        """Select a window preset by (the start of) its name, e.g. "Lung"."""
        for index, (label, _level) in enumerate(self.presets):
            if label.startswith(name):
                self.window_combo.setCurrentIndex(index)
                self._preset_chosen(index)
                return
        raise KeyError(name)

    def _window_dragged(self, dx: float, dy: float) -> None:
        start = self.current_window()
        if self.image is None or self.image.is_color:
            return
        if start is None:
            start = self.image.window or full_range(self.image, self.frame)
        step = max(start.width, 1.0) / 300.0
        self.set_window(WindowLevel(start.center + dy * step, max(1.0, start.width + dx * step)))

    def set_invert(self, inverted: bool) -> None:
        self.user_invert = bool(inverted)
        self._render()

    def reset_view(self) -> None:
        self.invert_action.setChecked(False)
        self.user_invert = False
        self.window = None
        if self.presets:
            self.window_combo.setCurrentIndex(0)
        self.canvas.reset_orientation()
        self._render()

    def set_tool(self, mode: str) -> None:
        self.canvas.view.mode = mode
        self.tool_actions[mode].setChecked(True)
        self.canvas.cancel_pending()

    # frames --------------------------------------------------------------------------------------
    def set_frame(self, index: int) -> None:
        if self.image is None:
            return
        index = min(max(int(index), 0), self.image.n_frames - 1)
        if index == self.frame and self.frame_slider.value() == index:
            return
        self.frame = index
        self.frame_slider.blockSignals(True)
        self.frame_slider.setValue(index)
        self.frame_slider.blockSignals(False)
        self._render()
        self._render_overlay()
        self.frame_changed.emit(index)

    def step_frame(self, step: int, wrap: bool = False) -> None:
        if self.image is None or self.image.n_frames < 2:
            return
        target = self.frame + step
        if wrap:
            target %= self.image.n_frames
        self.set_frame(target)

    def set_playing(self, playing: bool) -> None:
        playing = bool(playing) and self.image is not None and self.image.n_frames > 1
        if playing:
            self.cine.start(int(1000 / self.fps.value()))
        else:
            self.cine.stop()
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.setText("⏸ Pause" if playing else "▶ Play")
        self.play_button.blockSignals(False)

    # heatmap overlay ------------------------------------------------------------------------------
    def set_overlay(self, image: MedicalImage, frame: int, heatmap: np.ndarray | None, label: str) -> None:
        self._overlay = None if heatmap is None else (image, frame, np.array(heatmap, dtype=np.float32, copy=True), label)
        self.overlay_bar.setVisible(self._overlay is not None)
        self.overlay_label.setText(label if heatmap is not None else "")
        if heatmap is not None:
            self.overlay_toggle.setChecked(True)
        self._render_overlay()

    def overlay_visible(self) -> bool:
        return self.canvas.heatmap_item.isVisible()

    def _render_overlay(self) -> None:
        overlay = self._overlay
        shown = (
            overlay is not None
            and self.image is overlay[0]
            and (self.image.n_frames == 1 or self.frame == overlay[1])
            and self.overlay_toggle.isChecked()
        )
        self.canvas.set_heatmap(overlay[2] if shown else None, self.colormap_combo.currentText(), self.opacity_slider.value() / 100)
        self._update_corners()

    # presentation mode ------------------------------------------------------------------------------
    def mask_text(self) -> None:
        """In presentation mode, burned-in text blacked out (checked in a worker; until then, and when it cannot
        be checked, no picture at all); otherwise the picture as it is."""
        image = self.image
        if not self.presenting or self.guard is None or image is None:
            self.canvas.set_mask(None)
            return
        cleaned = self.guard.cleaned(image, self.frame)
        if cleaned is None:
            self.canvas.set_mask(None, "Checking the picture for burned-in text…")
        elif cleaned.pixels is None:
            self.canvas.set_mask(None, f"Not shown in presentation mode: {cleaned.problem}.")
        else:
            self.canvas.set_mask(cleaned.mask if cleaned.redacted else None)

    def set_shown(self, shown: ShownPolicy) -> None:
        """What may be shown of the image's patient (presentation mode's policy, from the Images tab)."""
        self.shown = shown
        self._update_corners()

    # corners and readout --------------------------------------------------------------------------
    def set_presenting(self, presenting: bool) -> None:
        """Presentation mode: corners hidden (and if shown again, nothing that identifies), burned-in text masked."""
        self.presenting = presenting
        self._arrange_toolbars()  # the type size may have changed
        self.set_demographics_visible(not presenting)
        self.mask_text()
        self._update_corners()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._arrange_toolbars()

    def _arrange_toolbars(self) -> None:
        """Both toolbars on one line when the viewer is wide enough for both, else stacked."""
        wide = self.width() >= self.toolbar.sizeHint().width() + self.tools_bar.sizeHint().width()
        self.toolbars.setDirection(QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom)

    def set_demographics_visible(self, visible: bool) -> None:
        self.demographics_action.setChecked(bool(visible))
        self.canvas.set_corners_visible(("tl", "tr"), bool(visible))

    def _update_corners(self) -> None:
        image = self.image
        if image is None:
            return
        meta = image.metadata
        description = " ".join(filter(None, [image.modality, meta.get("body_part"), meta.get("view_position")]))
        if self.presenting:
            self.canvas.set_corner_text("tl", f"name {WITHHELD}")
            study = self.shown.dicom_date(meta.get("study_date", "")) if self.shown is not None else WITHHELD
            self.canvas.set_corner_text("tr", "\n".join(filter(None, [study, description])))
        else:
            name = meta.get("patient_name") or image.path.name
            self.canvas.set_corner_text("tl", "\n".join(filter(None, [name, f"ID {meta['patient_id']}" if meta.get("patient_id") else ""])))
            self.canvas.set_corner_text("tr", "\n".join(filter(None, [meta.get("study_date", ""), description, meta.get("series_description", "")])))
        window = self.current_window()
        if image.is_color:
            window_text = "colour"
        elif window is None:
            window_text = "VOI LUT (file)"
        else:
            window_text = f"W {window.width:g}  L {window.center:g}"
        lines = [f"Frame {self.frame + 1}/{image.n_frames}" if image.n_frames > 1 else "", window_text,
                 f"Zoom {self.canvas.view_scale() * 100:.0f}%"]
        self.canvas.set_corner_text("bl", "\n".join(filter(None, lines)))
        spacing = image.spacing_mm
        spacing_text = f"{spacing[1]:g} x {spacing[0]:g} mm/px" if spacing else "no pixel spacing: lengths in px"
        overlay = f"Heatmap: {self._overlay[3]}" if self.overlay_visible() and self._overlay else ""
        self.canvas.set_corner_text("br", "\n".join(filter(None, [overlay, spacing_text])))
        self.frame_label.setText(f"{self.frame + 1} / {image.n_frames}")

    def _show_pixel(self, row: int, column: int) -> None:
        self.readout.setText(self.pixel_text(row, column))

    def pixel_text(self, row: int, column: int) -> str:
        """The readout for one pixel: position (px and mm), stored value and modality-LUT value."""
        image = self.image
        if image is None or row < 0:
            return ""
        position = f"x {column}, y {row} px"
        if image.spacing_mm:
            position += f" = ({column * image.spacing_mm[1]:.1f}, {row * image.spacing_mm[0]:.1f}) mm"
        if image.is_color:
            r, g, b = (int(v) for v in image.frames[self.frame, row, column])
            return f"{position}   RGB {r}, {g}, {b}{self._heatmap_text(row, column)}"
        value = float(image.frames[self.frame, row, column])
        stored = image.stored_value(self.frame, row, column)
        unit = " HU" if image.modality == "CT" else ""
        return f"{position}   stored {stored:g}   value {value:g}{unit}{self._heatmap_text(row, column)}"

    def _heatmap_text(self, row: int, column: int) -> str:
        """The heatmap's value under the cursor (0-1 of its range), when it is shown."""
        shown = self.canvas.heatmap_item.image
        if not self.overlay_visible() or shown is None:
            return ""
        return f"   heatmap {float(shown[row, column]):.2f}"

    def measurement_texts(self) -> list[str]:
        return [item.text() for item in self.canvas.measurements]
