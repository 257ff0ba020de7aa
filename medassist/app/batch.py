"""Score many image files with one model (``medassist predict``, the DICOM node's folder scoring and
the Ray engine share this): one result per file, in input order, one bad file never stopping a batch.

:func:`image_results` gives each file's :class:`Prediction` (or why it could not be scored), which the
worklist stores whole; :func:`image_rows` gives them as ``--json`` rows:
:func:`medassist.domain.result_text.result_json` (the result's values, its findings with their status
and the sentences the views show; plus the explanation when asked), or ``{"file", "model", "error"}``.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from medassist.domain.inputs import ImageInput, RecordInput, TextInput
from medassist.domain.prediction import Prediction
from medassist.domain.result_text import result_json
from medassist.errors import MedAssistError
from medassist.imaging.loader import load_image
from medassist.jobs import run_job

if TYPE_CHECKING:
    from medassist.inference.service import ModelService

Row = dict[str, Any]


def predicted(service: "ModelService", model: str, source: ImageInput | TextInput | RecordInput,
              explain: str | None) -> Prediction:
    """One input's result and, when asked and not refused, its explanation."""
    prediction = run_job(service.predict(model, source))
    if explain and not prediction.refused:
        prediction.explanations.append(run_job(service.explain(model, source, explain)))
    return prediction


def prediction_row(service: "ModelService", model: str, source: ImageInput | TextInput | RecordInput,
                   explain: str | None) -> Row:
    """One input's result row (:func:`predicted` as ``--json`` prints it)."""
    return result_json(predicted(service, model, source, explain))


def file_row(service: "ModelService", model: str, path: Path, explain: str | None) -> Row:
    """The row of one image file, an error row when it cannot be read or scored."""
    try:
        outcome: Prediction | str = predicted(service, model, ImageInput(load_image(path)), explain)
    except MedAssistError as exc:
        outcome = exc.reason
    return _row(model, path, outcome)


def _row(model: str, path: Path, outcome: Prediction | str) -> Row:
    row = result_json(outcome) if isinstance(outcome, Prediction) else {"model": model, "error": outcome}
    row["file"] = str(path)
    return row


def image_rows(service: "ModelService", model: str, files: list[Path], workers: int,
               explain: str | None) -> Iterator[Row]:
    """:func:`image_results` as rows, one per file."""
    for path, outcome in image_results(service, model, files, workers, explain):
        yield _row(model, path, outcome)


def image_results(service: "ModelService", model: str, files: list[Path], workers: int,
                  explain: str | None) -> Iterator[tuple[Path, Prediction | str]]:
    """Decode a few files ahead in threads (bounded queue), predict in order; each file with its
    result, or why it could not be scored."""
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
            outcome: Prediction | str
            try:
                outcome = predicted(service, model, future.result(), explain)
            except MedAssistError as exc:
                outcome = exc.reason
            except MemoryError:
                outcome = "not enough memory to decode"
            yield path, outcome


def _image_input(path: Path) -> ImageInput:
    return ImageInput(load_image(path))
