"""Folders and DICOMDIRs: series grouped by study/series UID and sorted along the patient axis."""

from __future__ import annotations

import numpy as np
from pydicom.uid import generate_uid

from medassist.hashing import sha256_file
from medassist.imaging.loader import open_images
from medassist.jobs import Progress, run_job


def write_series(folder, dicom_writer, study, series, positions):
    folder.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(0).permutation(len(positions))  # files written out of order
    for n, i in enumerate(order):
        z = positions[i]
        dicom_writer(folder / f"f{n:03d}", np.full((6, 5), int(z * 2), np.int16), study_uid=study, series_uid=series,
                     InstanceNumber=len(positions) - i, ImagePositionPatient=[0, 0, z],
                     ImageOrientationPatient=[1, 0, 0, 0, 1, 0], PixelSpacing=[0.7, 0.7], RescaleSlope=1, RescaleIntercept=-1000)


def test_folder_slices_become_one_multi_frame_image_per_series(tmp_path, dicom_writer):
    study = generate_uid()
    write_series(tmp_path / "a", dicom_writer, study, generate_uid(), [10.0, 12.5, 15.0, 17.5, 20.0])
    write_series(tmp_path / "b", dicom_writer, study, generate_uid(), [0.0, 5.0])
    progress: list[Progress] = []
    batch = run_job(open_images(tmp_path), on_progress=progress.append)
    assert batch.problems == []
    assert sorted(image.n_frames for image in batch.images) == [2, 5]
    five = next(image for image in batch.images if image.n_frames == 5)
    # sorted by position along the normal (InstanceNumber runs the other way and is ignored)
    assert [float(five.frames[i, 0, 0]) for i in range(5)] == [-980.0, -975.0, -970.0, -965.0, -960.0]
    assert five.metadata["slices"] == 5 and five.metadata["slice_spacing_mm"] == 2.5
    assert five.stored_value(3, 0, 0) == 35 and five.spacing_mm == (0.7, 0.7)
    assert len(five.sha256) == 64 and five.sha256 != sha256_file(five.path)
    assert progress[-1].fraction == 1.0


def test_instance_number_orders_slices_without_positions(tmp_path, dicom_writer):
    study, series = generate_uid(), generate_uid()
    for number in (3, 1, 2):
        dicom_writer(tmp_path / f"s{number}.dcm", np.full((2, 2), number, np.uint16), study_uid=study, series_uid=series, InstanceNumber=number)
    batch = run_job(open_images(tmp_path))
    assert len(batch.images) == 1
    assert [float(v) for v in batch.images[0].frames[:, 0, 0]] == [1, 2, 3]


def test_shared_dicomdir_groups_its_series(shared_data):
    root = shared_data / "dicom" / "dicomdir_example"
    batch = run_job(open_images(root / "DICOMDIR"))
    assert batch.problems == []
    ct2 = [image for image in batch.images if "CT2" in str(image.path) and image.n_frames == 4]
    assert len(ct2) == 1 and ct2[0].metadata["slices"] == 4
    empty = run_job(open_images(root / "DICOMDIR-empty.dcm"))
    assert empty.images == [] and "lists no images" in empty.problems[0]
