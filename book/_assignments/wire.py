"""What crosses the grader's trust boundary, and how.

The grader and the sandboxed student process talk over two pipes in *frames*: a 4-byte
big-endian length, then that many bytes of UTF-8 JSON. Values the student's code returns cross
as plain data only, encoded by :func:`encode` inside the sandbox and rebuilt by :func:`decode`
in the grader:

- ``None``, ``bool``, ``int``, ``float`` and ``str`` as JSON;
- lists as JSON arrays; tuples and dicts as tagged objects (``{"$": "tuple", ...}``);
- NumPy arrays and scalars as ``.npy`` bytes (base64), loaded with ``allow_pickle=False`` and
  only for boolean, integer, floating, complex and string dtypes.

Nothing else can come back: there is no pickle on this side, an object the student made never
reaches the grader, so its ``__eq__`` or ``__float__`` never runs there. A frame larger than
:data:`MAX_FRAME` bytes, nested deeper than :data:`MAX_DEPTH`, or of any other shape is refused
with :class:`WireError`. The grader's inputs to the student's functions travel the other way
pickled with ``dill`` (the grader's own data, unpickled by the student's process).
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAX_FRAME = 16 << 20
"""The largest frame either side accepts, in bytes."""
MAX_DEPTH = 32
"""How deeply lists, tuples and dicts may nest in a value."""
ARRAY_KINDS = frozenset("biufcU")
"""NumPy dtype kinds that may cross: bool, signed, unsigned, float, complex, unicode."""


class WireError(Exception):
    """A frame or a value that does not follow the protocol."""


class UnsendableError(TypeError):
    """A value that is not plain data, found while encoding it in the sandbox."""


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------


def _npy(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data, or :class:`UnsendableError` naming what is not."""
    if depth > MAX_DEPTH:
        raise UnsendableError(f"a value nested deeper than {MAX_DEPTH} levels")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return {"$": "float", "repr": repr(value)}  # keeps nan and inf exact
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in ARRAY_KINDS:
            raise UnsendableError(f"a NumPy value of dtype {array.dtype}")
        return {"$": "npscalar" if isinstance(value, np.generic) else "ndarray", "npy": _npy(array)}
    if type(value) is list:
        return [encode(v, depth + 1) for v in value]
    if type(value) is tuple:
        return {"$": "tuple", "items": [encode(v, depth + 1) for v in value]}
    if type(value) is dict:
        return {
            "$": "dict",
            "items": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()],
        }
    raise UnsendableError(f"an object of type {type(value).__name__}")


def _array(text: Any) -> np.ndarray:
    if not isinstance(text, str):
        raise WireError("an array that is not base64 text")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as error:  # any malformed .npy is the sender's fault
        raise WireError(f"an unreadable array ({type(error).__name__})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ARRAY_KINDS:
        raise WireError("an array of a dtype that may not cross")
    return array


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild a value that :func:`encode` wrote; refuse anything else with :class:`WireError`."""
    if depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is float:  # only from a foreign encoder, but harmless
        return data
    if type(data) is list:
        return [decode(v, depth + 1) for v in data]
    if type(data) is not dict:
        raise WireError(f"unexpected JSON {type(data).__name__}")
    tag = data.get("$")
    if tag == "float" and type(data.get("repr")) is str and len(data["repr"]) < 64:
        try:
            return float(data["repr"])
        except ValueError:
            raise WireError("a float that is not a number") from None
    if tag == "ndarray":
        return _array(data.get("npy"))
    if tag == "npscalar":
        array = _array(data.get("npy"))
        if array.ndim != 0:
            raise WireError("a NumPy scalar with a shape")
        return array[()]
    items = data.get("items")
    if type(items) is not list:
        raise WireError(f"a tagged value {tag!r} without items")
    if tag == "tuple":
        return tuple(decode(v, depth + 1) for v in items)
    if tag == "dict":
        out = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a dict entry that is not a pair")
            key = decode(pair[0], depth + 1)
            try:
                out[key] = decode(pair[1], depth + 1)
            except TypeError:
                raise WireError("a dict key that cannot be a key") from None
        return out
    raise WireError(f"an unknown tag {tag!r}")


# --------------------------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------------------------


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Send one JSON message on file descriptor ``fd``."""
    body = json.dumps(message, allow_nan=False).encode()
    if len(body) > MAX_FRAME:
        raise UnsendableError(f"a message of {len(body)} bytes, more than the limit of {MAX_FRAME}")
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


class FrameReader:
    """Reads frames from a pipe with a deadline, never more than :data:`MAX_FRAME` at once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def _fill(self, size: int, deadline: float | None) -> None:
        while len(self.buffer) < size:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, min(1 << 20, size - len(self.buffer)))
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def read(self, deadline: float | None = None) -> dict[str, Any]:
        """The next message; ``TimeoutError`` past ``deadline``, ``EOFError`` if the pipe closed."""
        self._fill(4, deadline)
        (size,) = struct.unpack(">I", self.buffer[:4])
        if size > MAX_FRAME:
            raise WireError(f"a frame of {size} bytes, more than the limit of {MAX_FRAME}")
        self._fill(4 + size, deadline)
        body, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            raise WireError("a frame that is not JSON") from None
        if type(message) is not dict:
            raise WireError("a frame that is not a JSON object")
        return message
