"""The Weinstein stage machine: per-symbol state, one week's step, a run of weeks.

The rule is in the docstring of `analytics.stages`; `stage_step` is its one-week
form, and `run_stage_machine` gives the same result over many weeks through a
transition table built from `stage_step` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from analytics.constants import (
    STAGE_CONFIRM_WEEKS,
    STAGE_PV_THRESHOLD,
    STAGE_SLOPE_THRESHOLD,
)

NO_STAGE = 0


@dataclass
class StageState:
    """Per-symbol state of the stage machine after week `week` (vectorised)."""

    stage: np.ndarray
    stage_start: np.ndarray
    prior: np.ndarray
    last_trend: np.ndarray
    candidate: np.ndarray
    run_len: np.ndarray
    run_start: np.ndarray
    changed: np.ndarray
    week: int = -1

    @classmethod
    def empty(cls, n: int) -> StageState:
        """Return the state before any week for n symbols."""

        def small() -> np.ndarray:
            return np.zeros(n, dtype=np.int8)

        def weeks() -> np.ndarray:
            return np.zeros(n, dtype=np.int32)

        return cls(
            small(), weeks(), small(), small(), small(), small(), weeks(),
            np.zeros(n, dtype=bool),
        )  # fmt: skip

    def copy(self) -> StageState:
        """Return an independent copy (the arrays are replaced, never mutated)."""
        return replace(self)


@dataclass
class WeekInputs:
    """Pre-computed per-week candidate parts: base 2/4/0, untrended 1/3, has data."""

    base: np.ndarray
    untrended: np.ndarray
    has: np.ndarray


def week_inputs(pv: np.ndarray, slope: np.ndarray) -> WeekInputs:
    """Split the candidate rule into its state-free parts (any leading shape)."""
    with np.errstate(invalid="ignore"):
        up = (pv > STAGE_PV_THRESHOLD) & (slope > STAGE_SLOPE_THRESHOLD)
        down = (pv < -STAGE_PV_THRESHOLD) & (slope < -STAGE_SLOPE_THRESHOLD)
        below = pv < 0
    # Booleans as 0/1 bytes: base = 2 (up) or 4 (down, never with up) or 0, and
    # untrended = 1 below the MA, else 3 (NaN compares False: 3).
    base = up.view(np.int8) * np.int8(2)
    base += down.view(np.int8) * np.int8(4)
    untrended = np.int8(3) - below.view(np.int8) * np.int8(2)
    has = ~(np.isnan(pv) | np.isnan(slope))
    return WeekInputs(base, untrended, has)


def stage_step(
    state: StageState, base: np.ndarray, untrended: np.ndarray, has: np.ndarray
) -> StageState:
    """Return the state after one more week (see the module docstring for the rule)."""
    t = state.week + 1
    lt = state.last_trend
    # 5 - last_trend maps a confirmed 2 to stage 3 and a confirmed 4 to stage 1.
    other = np.where(lt == NO_STAGE, untrended, np.int8(5) - lt)
    cand = np.where(has, np.where(base != 0, base, other), np.int8(NO_STAGE))
    cont = has & (cand == state.candidate)
    # Only "at least STAGE_CONFIRM_WEEKS" matters, so the run length is capped.
    run_len = np.where(
        cont,
        np.minimum(state.run_len + np.int8(1), np.int8(STAGE_CONFIRM_WEEKS)),
        has.astype(np.int8),
    )
    run_start = np.where(cont, state.run_start, np.int32(t))
    confirm = (run_len >= STAGE_CONFIRM_WEEKS) & (cand != state.stage) & has
    trending = confirm & ((cand == 2) | (cand == 4))
    return StageState(
        stage=np.where(confirm, cand, state.stage),
        stage_start=np.where(confirm, run_start, state.stage_start),
        prior=np.where(confirm, state.stage, state.prior),
        last_trend=np.where(trending, cand, lt),
        candidate=cand,
        run_len=run_len,
        run_start=run_start,
        changed=confirm & (state.stage != NO_STAGE),
        week=t,
    )


@dataclass
class MachineRun:
    """Result of running the stage machine over a block of weeks."""

    hist: np.ndarray  # stage per week (0 = none)
    transitions: np.ndarray  # stage left in that week (0 = no change)
    state: StageState  # after the last week
    before_last: StageState  # after the week before the last one


def start_state(
    pv: np.ndarray, slope: np.ndarray, state: StageState | None
) -> tuple[StageState, int]:
    """Return the state to run from and the first week to step (see below)."""
    weeks, n = pv.shape
    state = StageState.empty(n) if state is None else state
    has_any = (~(np.isnan(pv) | np.isnan(slope))).any(axis=1)
    first = int(np.argmax(has_any)) if has_any.any() else weeks
    if state.week == -1 and first > 0:
        # Weeks before any symbol has a candidate only reset runs: skip them.
        return replace(state, week=first - 1), first
    return state, 0


def run_stage_machine(
    pv: np.ndarray, slope: np.ndarray, state: StageState | None = None
) -> MachineRun:
    """Run the stage machine over all weeks of (weeks x symbols) pv and slope.

    Same result as applying `stage_step` week by week; the weeks go through the
    transition table (`_tables`), a few array operations per week; the stage
    history and changes are read off the steps afterwards.
    """
    weeks, n = pv.shape
    hist = np.zeros((weeks, n), dtype=np.int8)
    transitions = np.zeros((weeks, n), dtype=np.int8)
    state, first = start_state(pv, slope, state)
    if first == weeks:
        before = replace(state, week=state.week - 1) if weeks else state
        return MachineRun(hist, transitions, state, before)
    walk = _steps(state, week_inputs(pv[first:], slope[first:]))
    steps, t = walk.steps, _tables()
    hist[first:] = t.shown[steps]
    transitions[first:] = t.left[steps]
    week = state.week + len(steps)
    last = _state_after(steps[-1], walk.run_start, walk.stage_start, week)
    if len(steps) == 1:
        return MachineRun(hist, transitions, last, state)
    starts = walk.run_start_before, walk.stage_start_before
    before = _state_after(steps[-2], *starts, week - 1)
    return MachineRun(hist, transitions, last, before)


# -- the transition table ---------------------------------------------------------
# A symbol's small state (stage, prior, last trend, candidate, capped run length)
# is one code; a week's inputs (base, untrended, has) another. The table maps
# code * N_INPUTS + input to the next code, and tells whether the run went on
# (else it restarts this week) and whether a stage was confirmed or changed.
STAGE_VALUES = 5  # 0 (none) and stages 1-4; candidates and priors alike
TRENDS = np.array([NO_STAGE, 2, 4], dtype=np.int8)  # last confirmed trending stage
RUN_VALUES = STAGE_CONFIRM_WEEKS + 1  # run lengths 0..STAGE_CONFIRM_WEEKS
N_CODES = STAGE_VALUES * STAGE_VALUES * len(TRENDS) * STAGE_VALUES * RUN_VALUES
N_INPUTS = 3 * 2 * 2  # base 0/2/4, untrended 1/3, has
_KEPT, _UNSET = -5, -7  # run/stage starts that tell a kept run / no confirmation


@dataclass(frozen=True)
class Tables:
    """The transition table and what each code or step stands for."""

    next: np.ndarray  # step -> next code
    next_base: np.ndarray  # step -> next code * N_INPUTS (its first step)
    restart: np.ndarray  # step -> the run restarts this week
    confirm: np.ndarray  # step -> the candidate became the stage
    changed: np.ndarray  # step -> a stage was replaced
    shown: np.ndarray  # step -> the stage shown that week (none without data)
    left: np.ndarray  # step -> the stage replaced that week (none)
    stage: np.ndarray  # code -> stage
    prior: np.ndarray  # code -> prior stage
    trend: np.ndarray  # code -> last trending stage
    candidate: np.ndarray  # code -> candidate
    run_len: np.ndarray  # code -> capped run length


def _encode(stage, prior, trend, candidate, run_len) -> np.ndarray:
    """Return the code of small states (arrays of equal length)."""
    code = np.asarray(stage, dtype=np.intp) * STAGE_VALUES + prior
    code = code * len(TRENDS) + np.asarray(trend, dtype=np.intp) // 2
    return (code * STAGE_VALUES + candidate) * RUN_VALUES + run_len


@cache
def _tables() -> Tables:
    """Build the transition table by running `stage_step` on every code and input."""
    code, inputs = np.divmod(np.arange(N_CODES * N_INPUTS), N_INPUTS)
    rest, run_len = np.divmod(code, RUN_VALUES)
    rest, candidate = np.divmod(rest, STAGE_VALUES)
    rest, trend = np.divmod(rest, len(TRENDS))
    stage, prior = np.divmod(rest, STAGE_VALUES)
    small = {
        "stage": stage.astype(np.int8),
        "prior": prior.astype(np.int8),
        "last_trend": TRENDS[trend],
        "candidate": candidate.astype(np.int8),
        "run_len": run_len.astype(np.int8),
    }
    size = len(code)
    state = StageState(
        stage_start=np.full(size, _UNSET, np.int32),
        run_start=np.full(size, _KEPT, np.int32),
        changed=np.zeros(size, dtype=bool),
        **small,
    )
    base, rest = np.divmod(inputs, 4)
    untrended, has = np.divmod(rest, 2)
    new = stage_step(
        state,
        (base * 2).astype(np.int8),
        (untrended * 2 + 1).astype(np.int8),
        has.astype(bool),
    )
    first = slice(0, size, N_INPUTS)  # one entry per code
    following = _encode(
        new.stage, new.prior, new.last_trend, new.candidate, new.run_len
    )
    shown = np.where(has.astype(bool), new.stage, np.int8(NO_STAGE))
    left = np.where(new.changed, small["stage"], np.int8(NO_STAGE))
    return Tables(
        next=following,
        next_base=following * N_INPUTS,
        restart=new.run_start != _KEPT,
        confirm=new.stage_start != _UNSET,
        changed=new.changed,
        shown=shown.astype(np.int8),
        left=left.astype(np.int8),
        stage=small["stage"][first],
        prior=small["prior"][first],
        trend=small["last_trend"][first],
        candidate=small["candidate"][first],
        run_len=small["run_len"][first],
    )


@dataclass
class Steps:
    """A run through the table: each week's step, and the week starts kept."""

    steps: np.ndarray  # weeks x symbols: code before * N_INPUTS + input
    run_start: np.ndarray  # after the last week
    stage_start: np.ndarray
    run_start_before: np.ndarray  # after the week before the last one
    stage_start_before: np.ndarray


def _steps(state: StageState, parts: WeekInputs) -> Steps:
    """Walk the weeks through the table from `state`."""
    t = _tables()
    inputs = (parts.base // 2 * 2 + (parts.untrended - 1) // 2) * 2 + parts.has
    steps = np.empty(inputs.shape, dtype=np.intp)
    base = N_INPUTS * _encode(
        state.stage, state.prior, state.last_trend, state.candidate, state.run_len
    )
    run_start, stage_start = state.run_start, state.stage_start
    before, last = (run_start, stage_start), len(steps) - 1
    for i, (week, row) in enumerate(zip(steps, inputs, strict=True)):
        if i == last:
            before = run_start, stage_start
        np.add(base, row, out=week)
        base = t.next_base[week]
        run_start = np.where(t.restart[week], np.int32(state.week + 1 + i), run_start)
        stage_start = np.where(t.confirm[week], run_start, stage_start)
    return Steps(steps, run_start, stage_start, *before)


def _state_after(step: np.ndarray, run_start, stage_start, week: int) -> StageState:
    """Return the machine state after one week's step (its starts given)."""
    t = _tables()
    code = t.next[step]
    return StageState(
        stage=t.stage[code],
        stage_start=stage_start,
        prior=t.prior[code],
        last_trend=t.trend[code],
        candidate=t.candidate[code],
        run_len=t.run_len[code],
        run_start=run_start,
        changed=t.changed[step],
        week=week,
    )
