"""Archive-scale scoring on Ray (``medassist predict --engine ray``), for sites that outgrow one machine.

Uses Ray Data's streaming ``map_batches`` with an actor pool: each actor loads the model
once (hash-verified) and scores batches of file paths; rows come back in input order and are
identical to the local engine's (same loader, same service). Ray runs a local instance unless
a cluster address is given; its usage statistics are switched off (no network from us).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from medassist.errors import InputError

if TYPE_CHECKING:
    from medassist.inference.service import ModelService


class _Scorer:
    """A Ray actor: one model service per process, built there by the composition root's function the
    caller hands over (``models``: :func:`medassist.composition.ray_worker_models`); model loaded on first batch."""

    def __init__(self, model: str, explain: str | None, models: Callable[[], ModelService]) -> None:
        self.model = model
        self.explain = explain
        self.service = models()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from medassist.app.batch import file_row

        return {"row": [json.dumps(file_row(self.service, self.model, Path(path), self.explain), ensure_ascii=False)
                        for path in batch["path"]]}


def ray_image_rows(model: str, files: list[Path], address: str | None, explain: str | None,
                   models: Callable[[], ModelService], actors: int | None = None,
                   batch_size: int = 16) -> Iterator[dict[str, Any]]:
    """Rows as :func:`medassist.app.batch.image_rows` gives them, scored by Ray actors, each on the
    model service ``models()`` builds in its process."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise InputError("the Ray engine needs Ray: pip install 'medassist[ray]'") from exc
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = ray.data.from_items([{"path": str(f)} for f in files])
        scored = dataset.map_batches(
            _Scorer,
            fn_constructor_args=(model, explain, models),
            batch_size=batch_size,
            concurrency=actors or max(1, min(4, (os.cpu_count() or 2) // 2)),
            batch_format="numpy",
        )
        for item in scored.iter_rows():
            yield json.loads(item["row"])
    finally:
        if started_here:
            ray.shutdown()
