"""Score many image files with one model, as result rows (``medassist predict``, the DICOM node's
folder scoring and the Ray engine share these): one row per file, in input order.

A row is :func:`medassist.domain.result_text.result_json` (the result's values, its findings with their
status and the sentences the views show; plus the explanation when asked), or ``{"file", "model",
"error"}`` for a file that could not be scored: one bad file never stops a batch.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from medassist.domain.inputs import ImageInput, RecordInput, TextInput
from medassist.domain.result_text import result_json
from medassist.errors import MedAssistError
from medassist.imaging.loader import load_image
from medassist.jobs import run_job

if TYPE_CHECKING:
    from medassist.inference.service import ModelService

Row = dict[str, Any]


def prediction_row(service: "ModelService", model: str, source: ImageInput | TextInput | RecordInput,
                   explain: str | None) -> Row:
    """One input's result row: the prediction and, when asked and not refused, its explanation."""
    prediction = run_job(service.predict(model, source))
    if explain and not prediction.refused:
        prediction.explanations.append(run_job(service.explain(model, source, explain)))
    return result_json(prediction)


def file_row(service: "ModelService", model: str, path: Path, explain: str | None) -> Row:
    """The row of one image file, an error row when it cannot be read or scored."""
    try:
        row = prediction_row(service, model, ImageInput(load_image(path)), explain)
    except MedAssistError as exc:
        row = {"model": model, "error": exc.reason}
    row["file"] = str(path)
    return row


def image_rows(service: "ModelService", model: str, files: list[Path], workers: int,
               explain: str | None) -> Iterator[Row]:
    """Decode a few files ahead in threads (bounded queue), predict in order; one row per file."""
    depth = max(2 * workers, 2)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: deque[tuple[Path, Future[ImageInput]]] = deque()
        queue = iter(files)
        for path in queue:
            pending.append((path, pool.submit(_image_input, path)))
            if len(pending) >= depth:
                break
        while pending:
            path, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_image_input, following)))
            try:
                row = prediction_row(service, model, future.result(), explain)
            except MedAssistError as exc:
                row = {"model": model, "error": exc.reason}
            except MemoryError:
                row = {"model": model, "error": "not enough memory to decode"}
            row["file"] = str(path)
            yield row


def _image_input(path: Path) -> ImageInput:
    return ImageInput(load_image(path))
