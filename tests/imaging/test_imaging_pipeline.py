"""The pixel pipeline on fixtures with known values: modality LUT, VOI LUT, inversion, encodings, spacing."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian

from medassist.imaging import measure
from medassist.imaging.image import WindowLevel
from medassist.imaging.loader import load_image
from medassist.imaging.presets import window_presets


def test_rescale_then_window_gives_known_values(tmp_path, dicom_writer):
    stored = np.array([[0, 432], [532, 632]], dtype=np.int16)
    path = dicom_writer(tmp_path / "ct.dcm", stored, RescaleSlope=2, RescaleIntercept=-1024,
                        WindowCenter=40, WindowWidth=400)
    image = load_image(path)
    np.testing.assert_array_equal(image.frames[0], [[-1024, -160], [40, 240]])  # HU
    assert image.window == WindowLevel(40, 400)
    # window 40/400 spans -160..240 HU: -1024 and -160 are black, 40 is mid-grey, 240 white
    np.testing.assert_array_equal(image.display_frame(0), [[0, 0], [128, 255]])
    assert image.stored_value(0, 1, 1) == 632
    assert image.metadata["patient_name"] == "Test Patient" and image.metadata["patient_id"] == "T-001"
    assert "dataset" not in image.describe()


def test_multiple_window_values_default_to_the_first_and_are_offered(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "ct.dcm", np.zeros((4, 4), np.int16), WindowCenter=[40, -600], WindowWidth=[400, 1500],
                        WindowCenterWidthExplanation=["SOFT", "LUNG"])
    image = load_image(path)
    assert image.window == WindowLevel(40, 400)
    names = [name for name, _ in window_presets(image)]
    assert names[0] == "Default (from file)" and "LUNG (-600/1500)" in names and any(n.startswith("Lung") for n in names)


def test_modality_lut_table_and_stored_readout(tmp_path, dicom_writer):
    item = Dataset()
    item.add_new(0x00283002, "US", [4, 0, 16])  # LUT Descriptor
    item.add_new(0x00283006, "US", [100, 200, 300, 400])  # LUT Data
    item.ModalityLUTType = "OD"
    path = dicom_writer(tmp_path / "mlut.dcm", np.array([[0, 1], [2, 7]], np.uint16), modality="CR",
                        ModalityLUTSequence=Sequence([item]))
    image = load_image(path)
    np.testing.assert_array_equal(image.frames[0], [[100, 200], [300, 400]])  # 7 is past the table: last entry
    assert image.stored_value(0, 1, 1) == 7


def test_non_linear_voi_lut_sequence_is_the_default_display(tmp_path, dicom_writer):
    item = Dataset()
    item.add_new(0x00283002, "US", [4, 0, 8])
    item.add_new(0x00283006, "US", [0, 51, 204, 255])
    path = dicom_writer(tmp_path / "voi.dcm", np.array([[0, 1], [2, 3]], np.uint16), modality="CR",
                        VOILUTSequence=Sequence([item]), WindowCenter=100, WindowWidth=10)
    image = load_image(path)
    np.testing.assert_array_equal(image.display_frame(0), [[0, 51], [204, 255]])
    # an explicit window replaces the table (what the viewer does once the user drags)
    np.testing.assert_array_equal(image.display_frame(0, WindowLevel(1.5, 3)), [[0, 85], [170, 255]])


def test_sigmoid_voi_lut_function(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "sig.dcm", np.array([[60, 100, 140]], np.int16), WindowCenter=100, WindowWidth=40,
                        VOILUTFunction="SIGMOID")
    image = load_image(path)
    # 1 / (1 + exp(-4 (x - 100) / 40)): 0.018, 0.5, 0.982 of full scale
    np.testing.assert_array_equal(image.display_frame(0), [[5, 128, 250]])
    assert image.metadata["voi_lut"] == "sigmoid"


def test_monochrome1_is_rendered_inverted(tmp_path, dicom_writer):
    ramp = np.array([[0, 1023], [512, 256]], np.uint16)
    mono1 = load_image(dicom_writer(tmp_path / "m1.dcm", ramp, modality="CR", photometric="MONOCHROME1",
                                    bits_stored=10, WindowCenter=511.5, WindowWidth=1023))
    mono2 = load_image(dicom_writer(tmp_path / "m2.dcm", ramp, modality="CR", bits_stored=10, WindowCenter=511.5, WindowWidth=1023))
    np.testing.assert_array_equal(mono1.frames, mono2.frames)  # values are the same...
    assert mono1.display_frame(0)[0, 0] == 255 and mono2.display_frame(0)[0, 0] == 0  # ...low values show white
    np.testing.assert_array_equal(mono1.display_frame(0).astype(int), 255 - mono2.display_frame(0).astype(int))
    assert mono1.model_input(0)[0, 0] == pytest.approx(1.0)


def test_signed_16_bit(tmp_path, dicom_writer):
    stored = np.array([[-32768, -1], [0, 32767]], np.int16)
    image = load_image(dicom_writer(tmp_path / "s16.dcm", stored))
    np.testing.assert_array_equal(image.frames[0], stored.astype(np.float32))
    assert image.metadata["pixel_representation"] == "signed"


def test_big_endian(tmp_path, dicom_writer):
    stored = np.array([[1, 256], [4095, 513]], np.uint16)
    image = load_image(dicom_writer(tmp_path / "be.dcm", stored, syntax=ExplicitVRBigEndian, bits_stored=12))
    np.testing.assert_array_equal(image.frames[0], stored)
    assert image.metadata["transfer_syntax"] == "Explicit VR Big Endian"


def test_8_bit_multi_frame_and_frame_time(tmp_path, dicom_writer):
    stack = np.stack([np.full((3, 4), 10 * i, np.uint8) for i in range(5)])
    image = load_image(dicom_writer(tmp_path / "mf.dcm", stack, modality="US", FrameTime=40))
    assert image.n_frames == 5 and image.shape == (3, 4)
    assert [float(image.frames[i, 0, 0]) for i in range(5)] == [0, 10, 20, 30, 40]
    assert image.metadata["frame_time_ms"] == 40


def test_rgb_stays_colour(tmp_path, dicom_writer):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    image = load_image(dicom_writer(tmp_path / "rgb.dcm", rgb, modality="XC", photometric="RGB"))
    assert image.is_color and tuple(image.display_frame(0)[0, 0]) == (255, 0, 0)


def test_dicom_without_extension_or_preamble(tmp_path, dicom_writer):
    path = dicom_writer(tmp_path / "IM0001", np.array([[5, 6]], np.uint16), preamble=False)
    image = load_image(path)
    assert image.is_dicom and image.frames[0, 0, 1] == 6


def test_pixel_spacing_gives_distances_to_a_tenth_of_a_millimetre(tmp_path, dicom_writer):
    image = load_image(dicom_writer(tmp_path / "sp.dcm", np.zeros((50, 80), np.int16), PixelSpacing=[0.5, 0.25]))
    assert image.spacing_mm == (0.5, 0.25)
    value, unit = measure.distance((0, 0), (10, 40), image.spacing_mm)  # 5 mm down, 10 mm across
    assert unit == "mm" and round(value, 1) == 11.2
    assert measure.format_distance(value, unit) == "11.2 mm"
    assert measure.distance((0, 0), (3, 4), None) == (5.0, "px")
    assert measure.angle_degrees((0, 10), (0, 0), (10, 0)) == pytest.approx(90.0)
    # with non-square pixels the angle is measured in millimetres, not pixels
    assert measure.angle_degrees((0, 10), (0, 0), (10, 10), (0.5, 0.25)) == pytest.approx(63.43, abs=0.01)


def test_imager_pixel_spacing_is_used_when_pixel_spacing_is_absent(tmp_path, dicom_writer):
    image = load_image(dicom_writer(tmp_path / "dx.dcm", np.zeros((4, 4), np.uint16), modality="DX", ImagerPixelSpacing=[0.143, 0.143]))
    assert image.spacing_mm == (0.143, 0.143) and "detector" in image.metadata["spacing_source"]


def test_sha256_is_the_files_hash(tmp_path, dicom_writer):
    from medassist.hashing import sha256_file

    path = dicom_writer(tmp_path / "h.dcm", np.zeros((2, 2), np.uint16))
    assert load_image(path).sha256 == sha256_file(path)


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless", "DeflatedExplicitVRLittleEndian"])
def test_encoded_fixtures_decode_to_the_exact_pixels(tmp_path, dicom_writer, syntax):
    from pydicom import dcmread, uid

    pixels = (np.arange(64 * 48).reshape(64, 48) * 7 % 4096).astype(np.uint16)
    ds = dcmread(dicom_writer(tmp_path / "plain.dcm", pixels, bits_stored=12))
    target = getattr(uid, syntax)
    if target.is_compressed:
        ds.compress(target, pixels)
    else:
        ds.file_meta.TransferSyntaxUID = target
    ds.save_as(tmp_path / "encoded.dcm", enforce_file_format=True)
    image = load_image(tmp_path / "encoded.dcm")
    assert image.metadata["transfer_syntax_uid"] == target
    np.testing.assert_array_equal(image.frames[0], pixels)


def test_every_compressed_syntax_the_issue_names_has_an_installed_decoder():
    from pydicom import uid
    from pydicom.pixels import get_decoder

    for syntax in (uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLossless, uid.JPEGLosslessSV1, uid.JPEGLSLossless,
                   uid.JPEGLSNearLossless, uid.JPEG2000Lossless, uid.JPEG2000, uid.HTJ2KLossless, uid.HTJ2K, uid.RLELossless):
        assert get_decoder(syntax).is_available, syntax.name
