"""Ordinary pictures through Pillow: 8-bit, 16-bit PNG/TIFF, BMP, multi-page TIFF."""

from __future__ import annotations

import numpy as np
from PIL import Image

from medassist.imaging.loader import load_image


def test_png_8_bit_is_shown_as_saved(tmp_path):
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert not image.is_dicom and image.modality == "OT" and image.shape == (16, 16)
    np.testing.assert_array_equal(image.display_frame(0), pixels)


def test_tiff_16_bit_keeps_its_values(tmp_path):
    pixels = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "a.tif")
    image = load_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(image.frames[0], pixels.astype(np.float32))
    assert image.metadata["bits_stored"] == 16
    assert image.display_frame(0)[1, 1] == 255 and image.display_frame(0)[0, 0] == 0


def test_png_16_bit(tmp_path):
    pixels = np.array([[0, 4095], [2048, 1024]], dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "b.png")
    np.testing.assert_array_equal(load_image(tmp_path / "b.png").frames[0], pixels)


def test_bmp_colour_and_grey_rgb(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "c.bmp")
    colour = load_image(tmp_path / "c.bmp")
    assert colour.is_color and tuple(colour.frames[0, 0, 0]) == (200, 0, 0)
    grey = np.repeat(np.arange(16, dtype=np.uint8).reshape(4, 4)[..., None], 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "g.bmp")
    as_grey = load_image(tmp_path / "g.bmp")  # an X-ray saved as RGB can still be windowed
    assert not as_grey.is_color and as_grey.frames[0, 3, 3] == 15


def test_multi_page_tiff_becomes_frames(tmp_path):
    pages = [Image.fromarray(np.full((3, 3), v, np.uint8)) for v in (10, 20, 30)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    image = load_image(tmp_path / "m.tif")
    assert image.n_frames == 3 and [float(image.frames[i, 0, 0]) for i in range(3)] == [10, 20, 30]
