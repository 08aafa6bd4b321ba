"""Serialise `A`/`AM` events column-wise into JSON-array frames."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from ingest.simulator.protocol import DATA_EVENTS, EVENT_MS, FIELDS

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _keyed_values(key: str, values: np.ndarray) -> list[bytes]:
    """Return `[b',"key":value', ...]` for a numeric column, formatted by orjson."""
    if len(values) == 0:
        return []
    raw = orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)[1:-1]
    prefix = b',"' + key.encode() + b'":'
    return (prefix + raw.replace(b",", b"\x00" + prefix)).split(b"\x00")


class EventEncoder:
    """Serialise A/AM events column-wise with orjson (no per-event dicts).

    With `decimal_volumes` each event also carries `dv`/`dav`, the decimal
    string volumes the live feed sends after `e`.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        otc: Collection[str] = (),
        decimal_volumes: bool = False,
    ) -> None:
        self.heads = {
            ev: np.array(
                [orjson.dumps({"ev": ev, "sym": s})[:-1] for s in symbols], dtype=object
            )
            for ev in DATA_EVENTS
        }
        otc_set = set(otc)
        self.otc = np.array([s in otc_set for s in symbols], dtype=np.int64)
        self.decimal_volumes = decimal_volumes

    def encode(
        self,
        ev: str,
        sym_idx: np.ndarray,
        cols: Mapping[str, np.ndarray],
        starts: np.ndarray,
    ) -> np.ndarray:
        """Return an object array of byte pieces, one event per row."""
        n = len(sym_idx)
        extra = 3 if self.decimal_volumes else 0
        out = np.empty((n, len(FIELDS) + 2 + extra), dtype=object)
        if n == 0:
            return out
        out[:, 0] = self.heads[ev][sym_idx]
        for k, name in enumerate(FIELDS, start=1):
            out[:, k] = _keyed_values(name, cols[name])
        uniq, inverse = np.unique(starts, return_inverse=True)
        stamps = [b',"s":%d,"e":%d' % (s, s + EVENT_MS[ev]) for s in uniq.tolist()]
        closes = [b"},", b',"otc":true},']
        if self.decimal_volumes:
            out[:, -4] = np.array(stamps, dtype=object)[inverse]
            out[:, -3] = _quoted_values("dv", cols["v"])
            out[:, -2] = _quoted_values("dav", cols["av"])
            out[:, -1] = np.array(closes, dtype=object)[self.otc[sym_idx]]
            return out
        tails = np.array([[s + c for c in closes] for s in stamps], dtype=object)
        out[:, -1] = tails[inverse, self.otc[sym_idx]]
        return out


def _quoted_values(key: str, values: np.ndarray) -> list[bytes]:
    """Return `[b',"key":"1.0"', ...]`: numbers as decimal strings."""
    raw = orjson.dumps(np.asarray(values, dtype=np.float64), option=_NUMPY)[1:-1]
    prefix = b',"' + key.encode() + b'":"'
    return (prefix + raw.replace(b",", b'"\x00' + prefix) + b'"').split(b"\x00")


def frames_from_pieces(pieces: np.ndarray, per_frame: int) -> list[bytes]:
    """Join encoded events into JSON-array frames of at most `per_frame` events."""
    frames = []
    for lo in range(0, len(pieces), per_frame):
        body = b"".join(pieces[lo : lo + per_frame].ravel().tolist())
        frames.append(b"[" + body[:-1] + b"]")
    return frames


def mix_into_frames(
    frames: list[bytes], before: Sequence[Any], after: Sequence[Any]
) -> list[bytes]:
    """Return frames with raw events added at the start and at the end."""
    if not frames:
        return [orjson.dumps([*before, *after])]
    out = list(frames)
    if before:
        out[0] = orjson.dumps(list(before))[:-1] + b"," + out[0][1:]
    if after:
        out[-1] = out[-1][:-1] + b"," + orjson.dumps(list(after))[1:]
    return out
