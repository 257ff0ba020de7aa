"""The AI map of an analysed image as a Secondary Capture a PACS viewer shows beside the film.

A Grad-CAM map is a coarse picture of where the model looked, not a measured quantity: a Parametric
Map would need units and a frame of reference that a projection radiograph does not have, and
few PACS viewers display one, so the map goes back as what every viewer shows: the film with the
heat blended over it, a banner burned into the pixels ("AI MAP ... not for diagnosis"), JPEG
baseline compressed (the one compressed syntax every PACS accepts; the Lossy Image Compression
attributes say so, PS3.3 C.7.6.1.1.5) and at most ``MAX_SIDE`` pixels a side, a few hundred kB
instead of 10.8 MB. Type 2C attributes (Laterality, Patient Orientation) are copied when the film
has them and sent empty when it does not.

Its UID is derived from the film, the model's weights and this format, so the same map sent twice
is the same object to the PACS, never a duplicate.
"""

from __future__ import annotations

import numpy as np
import highdicom as hd
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from medassist import DECISION_SUPPORT_NOTICE, __version__
from medassist.domain.prediction import Prediction
from medassist.hospital.sr import MANUFACTURER

CAPTURE_FORMAT = "ai-map-jpeg-1024-v1"  # part of every map's UID: a new format makes new objects
MAX_SIDE = 1024
AI_MAP_SERIES_NUMBER = 9002
AI_MAP_DESCRIPTION = "AI saliency map (Grad-CAM) - decision support, not for diagnosis"
AI_MAP_LABEL = "AI MAP (Grad-CAM) - decision support, not for diagnosis"
LATERALITY = {"R", "L"}


def map_uid(header: Dataset, prediction: Prediction, method: str) -> str:
    """The same film, weights, method and format always give the same SOP Instance UID."""
    return generate_uid(entropy_srcs=["medassist-ai-map", str(header.SOPInstanceUID), prediction.model,
                                      prediction.weights_sha256, method, CAPTURE_FORMAT, __version__])


def series_uid(study_instance_uid: str) -> str:
    """One AI-map series per study, whatever the number of exports."""
    return generate_uid(entropy_srcs=["medassist-ai-map-series", study_instance_uid])


def fitted(display: np.ndarray) -> np.ndarray:
    """The 8-bit film scaled down so that its longer side is at most ``MAX_SIDE`` (aspect kept)."""
    rows, columns = display.shape[:2]
    scale = MAX_SIDE / max(rows, columns)
    if scale >= 1:
        return display
    size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(display)).resize(size, Image.Resampling.BILINEAR))


def labelled(overlay_rgb: np.ndarray, label: str = AI_MAP_LABEL) -> np.ndarray:
    """Burn a banner into the top of the overlay so that no viewer can show the map unlabelled."""
    picture = Image.fromarray(np.ascontiguousarray(overlay_rgb, dtype=np.uint8), mode="RGB")
    size = max(10, picture.width // 45)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((0, 0), label, font=font)
    draw.rectangle((0, 0, min(picture.width, box[2] + 2 * size), box[3] + size), fill=(0, 0, 0))
    draw.text((size, size // 2), label, fill=(255, 220, 0), font=font)
    return np.asarray(picture)


def ai_map_capture(header: Dataset, overlay_rgb: np.ndarray, prediction: Prediction, method: str, target: str,
                   character_set: object, instance_number: int) -> hd.sc.SCImage:
    """The labelled overlay as a JPEG-compressed RGB Secondary Capture in the film's study."""
    orientation = tuple(str(v) for v in header.get("PatientOrientation", None) or ())
    known = len(orientation) == 2 and all(orientation)
    pixels = labelled(overlay_rgb)
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=header,
        pixel_array=pixels,
        photometric_interpretation="YBR_FULL_422",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=(orientation[0], orientation[1]) if known else ("A", "F"),  # emptied below when unknown
        series_instance_uid=series_uid(str(header.StudyInstanceUID)),
        series_number=AI_MAP_SERIES_NUMBER,
        sop_instance_uid=map_uid(header, prediction, method),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        transfer_syntax_uid=JPEGBaseline8Bit,
        specific_character_set=character_set,
        series_description=AI_MAP_DESCRIPTION,
        software_versions=f"MedAssist {__version__}",
    )
    if not known:
        image.PatientOrientation = ""  # type: ignore[assignment]  # type 2C: the film does not say
    # Laterality (type 2C): the film's side when it has one; absent when the film names its body part
    # (an unpaired part has none); empty, "not known", when the film says neither
    laterality = str(header.get("Laterality", "") or header.get("ImageLaterality", "") or "").strip()
    body_part = str(header.get("BodyPartExamined", "") or "").strip()
    if body_part:
        image.BodyPartExamined = body_part
    if laterality in LATERALITY:
        image.Laterality = laterality
    elif not body_part:
        image.Laterality = ""
    image.ImageType = ["DERIVED", "SECONDARY", "AI_MAP"]
    image.BurnedInAnnotation = "NO"  # the banner names no patient
    image.LossyImageCompression = "01"
    image.LossyImageCompressionMethod = "ISO_10918_1"
    compressed = len(image.PixelData)
    image.LossyImageCompressionRatio = f"{pixels.size / max(compressed, 1):.2f}"[:16]
    image.ImageComments = (f"AI map: {method} for '{target}' by {prediction.model} {prediction.version} "
                           f"(MedAssist {__version__}). {DECISION_SUPPORT_NOTICE}")[:10240]
    image.DerivationDescription = (f"{method} saliency of {prediction.model} {prediction.version} blended over "
                                   "the source image, scaled down and JPEG compressed")[:1024]
    reference = Dataset()
    reference.ReferencedSOPClassUID = header.SOPClassUID
    reference.ReferencedSOPInstanceUID = header.SOPInstanceUID
    image.SourceImageSequence = [reference]
    return image
