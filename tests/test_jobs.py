"""The one job driver: progress, results, cancels, and sub-jobs run inside a larger job."""

from __future__ import annotations

import pytest

from medassist.jobs import Cancelled, CancelToken, Job, Progress, rescaled, run_job


def counting(steps: int, closed: list[str]) -> Job[int]:
    try:
        for index in range(steps):
            yield Progress((index + 1) / steps, f"step {index + 1}")
        return steps
    finally:
        closed.append("sub-job")


def parent(closed: list[str]) -> Job[str]:
    yield Progress(0.0, "starting")
    count = yield from rescaled(counting(4, closed), 0.2, 0.6, "Segment: ")
    yield Progress(1.0, "done")
    return f"{count} steps"


def test_a_sub_job_reports_on_its_part_of_the_parent_and_returns_its_value():
    seen: list[Progress] = []
    closed: list[str] = []
    assert run_job(parent(closed), on_progress=seen.append) == "4 steps"
    assert [round(p.fraction, 3) for p in seen] == [0.0, 0.3, 0.4, 0.5, 0.6, 1.0]
    assert seen[1].message == "Segment: step 1" and closed == ["sub-job"]


def test_cancelling_the_parent_closes_the_sub_job_at_its_next_step():
    token = CancelToken()
    closed: list[str] = []

    def cancel_in_the_sub_job(progress: Progress) -> None:
        if progress.message == "Segment: step 2":
            token.cancel()

    with pytest.raises(Cancelled):
        run_job(parent(closed), on_progress=cancel_in_the_sub_job, token=token)
    assert closed == ["sub-job"]
