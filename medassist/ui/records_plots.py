"""pyqtgraph plots of a patient's story: one observation over time (unit on the axis, reference
band where known) and the encounters timeline. Hovering near a point shows its value and date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF

from medassist.clinical.ranges import ReferenceRange
from medassist.records.charts import ObservationSeries, epoch_seconds

_LINE = "#1f5fa8"
_BAND = (46, 160, 67, 45)
_HOVER_PIXELS = 24
_CLASS_COLOURS = {
    "emergency": "#c0392b", "inpatient": "#8e44ad", "urgentcare": "#d35400", "ambulatory": "#2471a3",
    "outpatient": "#17a589", "wellness": "#27ae60", "virtual": "#7f8c8d", "home": "#a04000",
}


class _HoverPlot(pg.PlotWidget):
    """A white date-axis plot that labels the data point nearest the mouse."""

    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setBackground("w")
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setMenuEnabled(False)
        self.getAxis("bottom").setStyle(maxTextLevel=1)  # one row of date labels: a second row gets clipped
        self.xs = np.empty(0)
        self.ys = np.empty(0)
        self.texts: list[str] = []
        self.marker = pg.ScatterPlotItem(size=13, pen=pg.mkPen("#d35400", width=2), brush=pg.mkBrush(None))
        self.label = pg.TextItem(color="#111", fill=pg.mkBrush(255, 255, 240, 235), border=pg.mkPen("#888"), anchor=(0, 1))
        self.marker.setZValue(20)
        self.label.setZValue(21)
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def _reset_hover(self) -> None:
        self.addItem(self.marker, ignoreBounds=True)
        self.addItem(self.label, ignoreBounds=True)
        self.hide_hover()

    def hide_hover(self) -> None:
        self.marker.setData([], [])
        self.label.hide()

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        view = self.getPlotItem().vb
        if not view.sceneBoundingRect().contains(scene_pos):
            self.hide_hover()
            return
        point = view.mapSceneToView(scene_pos)
        self.hover_at(point.x(), point.y())

    def hover_at(self, x: float, y: float) -> str | None:
        """Label the point nearest (x, y) in data units, if within a few pixels; return its text."""
        if not len(self.xs):
            self.hide_hover()
            return None
        width, height = self.getPlotItem().vb.viewPixelSize()
        distance = ((self.xs - x) / max(width, 1e-12)) ** 2 + ((self.ys - y) / max(height, 1e-12)) ** 2
        nearest = int(np.argmin(distance))
        if distance[nearest] > _HOVER_PIXELS**2:
            self.hide_hover()
            return None
        self.marker.setData([self.xs[nearest]], [self.ys[nearest]])
        self.label.setText(self.texts[nearest])
        (left, right), (bottom, top) = self.getPlotItem().vb.viewRange()
        # open the label towards the middle of the plot so it is never cut off
        self.label.setAnchor((1.0 if self.xs[nearest] > (left + right) / 2 else 0.0,
                              0.0 if self.ys[nearest] > (bottom + top) / 2 else 1.0))
        self.label.setPos(self.xs[nearest], self.ys[nearest])
        self.label.show()
        return self.texts[nearest]


class ObservationPlot(_HoverPlot):
    """One observation's values over time, in one unit, with the reference range that fits the
    patient's age and sex as a band (:func:`medassist.clinical.ranges.reference_range`)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(170)
        self.series: ObservationSeries | None = None

    def show_series(self, series: ObservationSeries, reference: ReferenceRange | None = None) -> None:
        self.clear()
        self.series = series
        self.xs = epoch_seconds(series.dates)
        self.ys = series.values.astype(float)
        unit = series.unit or "no unit"
        stamps = pd.to_datetime(series.dates)
        self.texts = [f"{value:.4g} {series.unit}\n{stamp:%Y-%m-%d %H:%M}" for value, stamp in zip(self.ys, stamps, strict=True)]
        low_high = None if reference is None else (reference.low, reference.high)
        title = series.title
        self.setToolTip("" if reference is None else f"Reference range: {reference.source}")
        if low_high is not None:
            band = pg.LinearRegionItem(values=low_high, orientation="horizontal", movable=False,
                                       brush=pg.mkBrush(*_BAND), pen=pg.mkPen(None))
            band.setZValue(-10)
            self.addItem(band, ignoreBounds=True)
            title += f"  (reference {low_high[0]:g}-{low_high[1]:g} {series.unit})"
        if series.left_out:
            title += f"  [{series.left_out} value(s) in other units not shown]"
        self.setTitle(title, color="#222", size="10pt")
        self.setLabel("left", unit)
        self.plot(self.xs, self.ys, pen=pg.mkPen(_LINE, width=2), symbol="o", symbolSize=6,
                  symbolBrush=_LINE, symbolPen=pg.mkPen("w"))
        self._reset_hover()
        self._fit(low_high)

    def _fit(self, low_high: tuple[float, float] | None) -> None:
        if not len(self.xs):
            return
        low, high = float(np.min(self.ys)), float(np.max(self.ys))
        if low_high is not None:
            low, high = min(low, low_high[0]), max(high, low_high[1])
        pad = (high - low) * 0.08 or max(abs(high) * 0.05, 1.0)
        left, right = float(self.xs.min()), float(self.xs.max())
        span = (right - left) * 0.03 or 86400.0 * 15
        self.setXRange(left - span, right + span, padding=0)
        self.setYRange(low - pad, high + pad, padding=0)


class EncounterTimeline(_HoverPlot):
    """Encounters as points along time, one lane per encounter class."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(150)
        self.getPlotItem().hideAxis("top")
        self.lanes: list[str] = []

    def show_encounters(self, encounters: pd.DataFrame) -> None:
        self.clear()
        rows = encounters[encounters["start"].notna()].sort_values("start")
        classes = rows["encounter_class"].fillna("other").astype(str)
        self.lanes = sorted(classes.unique().tolist())
        lane_of = {name: i for i, name in enumerate(self.lanes)}
        self.xs = epoch_seconds(rows["start"])
        self.ys = classes.map(lane_of).to_numpy(dtype=float)
        self.texts = [
            f"{start:%Y-%m-%d}  {klass}\n{description}" + (f"\nReason: {reason}" if isinstance(reason, str) else "")
            for start, klass, description, reason in zip(
                rows["start"], classes, rows["description"].fillna(""), rows["reason_description"], strict=True)
        ]
        brushes = [pg.mkBrush(_CLASS_COLOURS.get(k, "#555")) for k in classes]
        self.addItem(pg.ScatterPlotItem(self.xs, self.ys, size=9, brush=brushes, pen=pg.mkPen("w")))
        self.getAxis("left").setTicks([[(i, name) for i, name in enumerate(self.lanes)]])
        self.setTitle(f"{len(rows)} encounters", color="#222", size="10pt")
        self._reset_hover()
        if len(self.xs):
            span = (self.xs.max() - self.xs.min()) * 0.03 or 86400.0 * 30
            self.setXRange(self.xs.min() - span, self.xs.max() + span, padding=0)
            self.setYRange(-0.7, len(self.lanes) - 0.3, padding=0)
