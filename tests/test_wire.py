"""What crosses the grader's boundary (book/_assignments/wire.py): plain data, and nothing else."""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_assignments"))
import wire


def roundtrip(value: object) -> object:
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -3, 2**70, 1.5, float("inf"), "η", [1, 2.5], (1, "a"), {"a": (1, 2)}, {3: [None]},
     np.float32(1.25), np.int64(7), np.True_, np.arange(6).reshape(2, 3), np.array(["a", "bc"]),
     np.array([1 + 2j]), np.empty((0, 3))],
)
def test_plain_data_crosses_unchanged(value: object) -> None:
    back = roundtrip(value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    else:
        assert back == value


def test_nan_crosses_as_nan() -> None:
    assert np.isnan(roundtrip(float("nan")))


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True


class SneakyFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class SneakyArray(np.ndarray):
    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return True


@pytest.mark.parametrize("value", [AlwaysEqual(), SneakyFloat(1.0), [1, AlwaysEqual()], {"k": SneakyFloat(2)},
                                   np.array([AlwaysEqual()], dtype=object), lambda: 1])
def test_objects_the_student_made_do_not_cross(value: object) -> None:
    with pytest.raises(wire.UnsendableError):
        wire.encode(value)


def test_an_array_subclass_crosses_as_a_plain_array() -> None:
    back = roundtrip(np.zeros(3).view(SneakyArray))
    assert type(back) is np.ndarray and not (back == np.ones(3)).any()


def npy(array: np.ndarray, allow_pickle: bool = False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    "data",
    [
        {"$": "ndarray", "npy": npy(np.array([AlwaysEqual()], dtype=object), allow_pickle=True)},
        {"$": "ndarray", "npy": base64.b64encode(pickle.dumps(os.system)).decode()},
        {"$": "ndarray", "npy": npy(np.array(["2020-01-01"], dtype="datetime64[D]"))},
        {"$": "npscalar", "npy": npy(np.arange(3))},
        {"$": "pickle", "items": []},
        {"$": "float", "repr": "__import__('os')"},
        {"$": "dict", "items": [[[1], 2]]},
        {"$": "tuple"},
        {"not": "tagged"},
    ],
)
def test_the_grader_refuses_anything_else(data: object) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(data)


def test_deep_nesting_is_refused() -> None:
    deep: object = 1
    for _ in range(wire.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(wire.UnsendableError):
        wire.encode(deep)
    with pytest.raises(wire.WireError):
        wire.decode(deep)


def test_frames_past_the_limit_and_garbage_are_refused() -> None:
    read, write = os.pipe()
    try:
        os.write(write, struct.pack(">I", wire.MAX_FRAME + 1))
        with pytest.raises(wire.WireError):
            wire.FrameReader(read).read(deadline=None)
        os.write(write, struct.pack(">I", 3) + b"{{{")
        with pytest.raises(wire.WireError):
            wire.FrameReader(read).read(deadline=None)
        wire.write_frame(write, {"kind": "value", "value": wire.encode((1, 2.5))})
        message = wire.FrameReader(read).read(deadline=None)
        assert wire.decode(message["value"]) == (1, 2.5)
    finally:
        os.close(read)
        os.close(write)


def test_a_silent_pipe_times_out() -> None:
    import time

    read, write = os.pipe()
    try:
        with pytest.raises(TimeoutError):
            wire.FrameReader(read).read(deadline=time.monotonic() + 0.05)
    finally:
        os.close(read)
        os.close(write)
