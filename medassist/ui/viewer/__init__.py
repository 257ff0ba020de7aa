"""The diagnostic image viewer (pyqtgraph): canvas, viewer controls, thumbnails and DICOM tags."""

from medassist.ui.viewer.tags import DicomTagBrowser
from medassist.ui.viewer.thumbnails import ThumbnailStrip
from medassist.ui.viewer.viewer import ImageViewer

__all__ = ["DicomTagBrowser", "ImageViewer", "ThumbnailStrip"]
