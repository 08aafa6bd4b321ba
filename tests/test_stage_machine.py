"""The table-driven stage machine equals stepping `stage_step` week by week."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from analytics.stage_machine import (
    NO_STAGE,
    MachineRun,
    StageState,
    run_stage_machine,
    stage_step,
    start_state,
    week_inputs,
)


def stepped(pv, slope, state=None) -> MachineRun:
    """Run the machine the plain way: one `stage_step` per week."""
    weeks, n = pv.shape
    hist = np.zeros((weeks, n), dtype=np.int8)
    transitions = np.zeros((weeks, n), dtype=np.int8)
    state, first = start_state(pv, slope, state)
    parts = week_inputs(pv[first:], slope[first:])
    before = state
    for w in range(first, weeks):
        before, i = state, w - first
        state = stage_step(state, parts.base[i], parts.untrended[i], parts.has[i])
        hist[w] = np.where(parts.has[i], state.stage, NO_STAGE)
        transitions[w] = np.where(state.changed, before.stage, NO_STAGE)
    if weeks and first == weeks:
        before = replace(state, week=state.week - 1)
    return MachineRun(hist, transitions, state, before)


def inputs(rng, weeks: int, n: int, lead: int = 0):
    """Return pv and slope that cross every threshold, with gaps and late starts."""
    pv = rng.choice([-5.0, -2.0, -1.0, 0.0, 1.0, 2.0, 2.5, 6.0], (weeks, n))
    slope = rng.choice([-1.0, -0.5, 0.0, 0.5, 0.7], (weeks, n))
    pv[rng.random(pv.shape) < 0.08] = np.nan
    slope[rng.random(pv.shape) < 0.04] = np.nan
    starts = rng.integers(0, max(weeks // 2, 1), n)
    for col, s in enumerate(starts):
        pv[: lead + s, col] = np.nan
    return pv, slope


def assert_runs_equal(got: MachineRun, want: MachineRun) -> None:
    np.testing.assert_array_equal(got.hist, want.hist)
    np.testing.assert_array_equal(got.transitions, want.transitions)
    for which in ("state", "before_last"):
        a, b = getattr(got, which), getattr(want, which)
        assert a.week == b.week, which
        for f in fields(StageState):
            if f.name == "week":
                continue
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert x.dtype == y.dtype, (which, f.name)
            np.testing.assert_array_equal(x, y, err_msg=f"{which}.{f.name}")


@pytest.mark.parametrize("weeks", [1, 2, 3, 27, 80])
def test_sm01_table_run_equals_stepping(weeks):
    rng = np.random.default_rng(weeks)
    pv, slope = inputs(rng, weeks, 400)
    want = stepped(pv, slope)
    assert_runs_equal(run_stage_machine(pv, slope), want)
    if weeks >= 27:  # every stage, confirmed changes and one-week blips occur
        assert set(np.unique(want.hist)) == {0, 1, 2, 3, 4}
        assert set(np.unique(want.transitions)) == {0, 1, 2, 3, 4}


def test_sm02_continuing_a_state_equals_stepping():
    rng = np.random.default_rng(7)
    pv, slope = inputs(rng, 60, 300)
    head = stepped(pv[:40], slope[:40])
    assert_runs_equal(
        run_stage_machine(pv[40:], slope[40:], head.state),
        stepped(pv[40:], slope[40:], head.state),
    )
    # A lead of weeks without any data at all is skipped the same way.
    pv, slope = inputs(rng, 30, 50, lead=5)
    assert_runs_equal(run_stage_machine(pv, slope), stepped(pv, slope))


def test_sm03_no_weeks_or_no_data():
    for weeks in (0, 4):
        pv = np.full((weeks, 6), np.nan)
        assert_runs_equal(run_stage_machine(pv, pv), stepped(pv, pv))
