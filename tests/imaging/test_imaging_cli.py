"""``medassist image info`` and ``medassist image render``."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from medassist.cli.main import main


def test_info_json_and_text(tmp_path, dicom_writer, capsys):
    path = dicom_writer(tmp_path / "ct.dcm", np.zeros((3, 4), np.int16), PixelSpacing=[0.5, 0.5], WindowCenter=40, WindowWidth=400)
    assert main(["image", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["modality"] == "CT" and info["rows"] == 3 and info["columns"] == 4 and info["frames"] == 1
    assert info["spacing_mm"] == [0.5, 0.5] and info["default_window"] == [40.0, 400.0]
    assert info["transfer_syntax"] == "Explicit VR Little Endian" and info["bits_stored"] == 16
    assert main(["image", "info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Pixel spacing:   0.5 x 0.5 mm" in text and "centre 40, width 400" in text


def test_render_applies_lut_and_window(tmp_path, dicom_writer, capsys):
    stack = np.stack([np.array([[-160, 40, 240]], np.int16), np.array([[-1000, 0, 1000]], np.int16)])
    path = dicom_writer(tmp_path / "ct.dcm", stack, WindowCenter=40, WindowWidth=400)
    out = tmp_path / "out.png"
    assert main(["image", "render", str(path), "--out", str(out)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), [[0, 128, 255]])
    assert main(["image", "render", str(path), "--out", str(out), "--frame", "1", "--window=0,2000"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), [[0, 128, 255]])


def test_errors_are_one_line(tmp_path, dicom_writer, capsys):
    path = dicom_writer(tmp_path / "ct.dcm", np.zeros((2, 2), np.int16))
    assert main(["image", "render", str(path), "--out", str(tmp_path / "x.png"), "--frame", "5"]) == 2
    assert "frame 5 does not exist" in capsys.readouterr().err
    assert main(["image", "info", str(tmp_path / "nothing.dcm")]) == 2
    assert "file not found" in capsys.readouterr().err
