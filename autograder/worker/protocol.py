"""The plain-data wire format between the trusted grader and the sandboxed worker.

A message is ``MAGIC``, a 4-byte big-endian header length, a JSON header, then the raw
payload blobs whose lengths the header lists. Arrays travel as ``.npy`` bytes read back
with ``allow_pickle=False`` and checked against the declared dtype and shape. Anything
that is not plain data (a subclass, an object that claims equality, a pickle) is
encoded as an ``Opaque`` marker naming its type, and so earns nothing.

This module runs on both sides; it imports only the standard library and numpy
(torch lazily, when a tensor is seen), so the worker can start without the grader.
"""

from __future__ import annotations

import io
import json
import math
import struct
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"AGW1"
MAX_HEADER = 4 << 20
MAX_DEPTH = 16
MAX_ITEMS = 100_000
MAX_STR = 1 << 20

# dtype names allowed on the wire; bfloat16 travels as float32 data with its own label.
ARRAY_DTYPES = {
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
}
TENSOR_DTYPES = ARRAY_DTYPES | {"bfloat16"}


@dataclass
class Reply:
    """One decoded answer from the worker, plus the trusted side's own measurements."""

    header: dict[str, Any]
    blobs: list[bytes]
    wall_seconds: float
    cpu_seconds: float
    """CPU time of the worker's whole process tree during the request (trusted side's clock); in local
    mode, of the thread that ran the request."""


class WireError(Exception):
    """A message that is not well-formed plain data; the text names what is wrong."""


@dataclass(frozen=True)
class Opaque:
    """Stands for a value that is not plain data; only its type's name crosses."""

    type_name: str

    def __repr__(self) -> str:
        return f"<object of type {self.type_name}>"


@dataclass(frozen=True)
class Origin:
    """Where a decoded tensor lived in the worker: its device and autograd state."""

    device: str
    requires_grad: bool
    has_grad_fn: bool


@dataclass(frozen=True)
class GeneratorSpec:
    """A torch.Generator to build in the worker, seeded from trusted data."""

    seed: int
    device: str = "cpu"


def origin_of(tensor: Any) -> Origin | None:
    """The Origin recorded on a tensor that came over the wire, if any."""
    return getattr(tensor, "__dict__", {}).get("_ag_origin")


# --------------------------------------------------------------------------- encoding

def encode(value: Any, device: str | None = None, blobs: list[bytes] | None = None) -> tuple[Any, list[bytes]]:
    """Encode ``value`` as a JSON-able tree plus blobs (appended to ``blobs`` if given).

    Tensors are labelled with ``device`` if given (the worker moves them there).
    """
    blobs = [] if blobs is None else blobs
    return _enc(value, blobs, 0, device), blobs


def _enc(v: Any, blobs: list[bytes], depth: int, device: str | None) -> Any:
    """Encode one value (exact types only: subclasses become Opaque)."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "nesting too deep"}
    tv = type(v)
    if v is None or tv in (bool, str, int, float):
        return _enc_scalar(v)
    if tv in (list, tuple, dict):
        return _enc_container(v, blobs, depth, device)
    if tv is np.ndarray:
        return _enc_array(v, blobs, "ndarray")
    if isinstance(v, np.generic) and tv.__module__ == "numpy":
        return _enc_array(np.asarray(v), blobs, "npscalar")
    if isinstance(v, GeneratorSpec):
        return {"t": "generator", "seed": v.seed, "device": v.device}
    torch = sys.modules.get("torch")
    if torch is not None:
        if tv is torch.Tensor:
            return _enc_tensor(v, blobs, device)
        if tv in (torch.dtype, torch.device):
            return {"t": tv.__name__, "v": str(v).removeprefix("torch.")}
    return {"t": "opaque", "type": _type_name(tv)}


def _enc_scalar(v: Any) -> Any:
    """None, bool, str, int (64-bit) and float (non-finite as a tagged string)."""
    if type(v) is int and abs(v) >= 2**63:
        return {"t": "opaque", "type": "int (too large)"}
    if type(v) is float and not math.isfinite(v):
        return {"t": "float", "v": repr(v)}
    return v


def _enc_container(v: Any, blobs: list[bytes], depth: int, device: str | None) -> Any:
    """Lists, tuples and string-keyed dicts, item by item."""
    if type(v) is dict:
        if not all(type(k) is str for k in v):
            return {"t": "opaque", "type": "dict with non-string keys"}
        return {"t": "dict", "items": {k: _enc(x, blobs, depth + 1, device) for k, x in v.items()}}
    return {"t": type(v).__name__, "items": [_enc(x, blobs, depth + 1, device) for x in v[:MAX_ITEMS]]}


def _type_name(tv: type) -> str:
    """A short, safe name for a type (never calls into the object)."""
    name = f"{getattr(tv, '__module__', '?')}.{getattr(tv, '__qualname__', '?')}"
    return str(name)[:200]


def _npy(arr: np.ndarray) -> bytes:
    """Serialise a plain array as .npy bytes (no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr, order="C"), allow_pickle=False)
    return buf.getvalue()


def _enc_array(arr: np.ndarray, blobs: list[bytes], tag: str) -> Any:
    """Encode a numpy array or scalar."""
    dtype = str(arr.dtype)
    if dtype not in ARRAY_DTYPES:
        return {"t": "opaque", "type": f"numpy array of dtype {dtype}"}
    blobs.append(_npy(arr))
    return {"t": tag, "dtype": dtype, "shape": list(arr.shape), "blob": len(blobs) - 1}


def _enc_tensor(t: Any, blobs: list[bytes], device: str | None) -> Any:
    """Encode a dense torch tensor with its device and autograd state."""
    import torch

    dtype = str(t.dtype).removeprefix("torch.")
    if dtype not in TENSOR_DTYPES or t.layout != torch.strided:
        return {"t": "opaque", "type": f"torch.Tensor of dtype {dtype}, layout {t.layout}"}
    data = t.detach()
    if dtype == "bfloat16":
        data = data.float()
    arr = data.cpu().contiguous().numpy()
    blobs.append(_npy(arr))
    return {
        "t": "tensor", "dtype": dtype, "shape": list(t.shape), "blob": len(blobs) - 1,
        "device": device if device is not None else str(t.device),
        "requires_grad": bool(t.requires_grad), "grad_fn": t.grad_fn is not None,
    }


# --------------------------------------------------------------------------- decoding

def decode(tree: Any, blobs: list[bytes], *, materialize: bool = False) -> Any:
    """Decode a tree from ``encode``; strict about every type, dtype and shape.

    ``materialize`` (worker side) turns tensors into real tensors on their device with
    their requires_grad flag, and generator specs into seeded generators.
    """
    return _dec(tree, blobs, 0, materialize)


def _dec(n: Any, blobs: list[bytes], depth: int, mat: bool) -> Any:
    """Decode one node."""
    if depth > MAX_DEPTH:
        raise WireError("nesting deeper than allowed")
    if n is None or type(n) in (bool, int, float):
        return n
    if type(n) is str:
        if len(n) > MAX_STR:
            raise WireError("string too long")
        return n
    if type(n) is not dict or type(n.get("t")) is not str:
        raise WireError(f"unexpected node of type {type(n).__name__}")
    decoder = _DECODERS.get(n["t"])
    if decoder is None:
        raise WireError(f"unknown tag {n['t']!r}")
    return decoder(n, blobs, depth, mat)


def _dec_sequence(n: dict[str, Any], blobs: list[bytes], depth: int, mat: bool) -> Any:
    items = _expect(n, "items", list)
    if len(items) > MAX_ITEMS:
        raise WireError("too many items")
    out = [_dec(x, blobs, depth + 1, mat) for x in items]
    return out if n["t"] == "list" else tuple(out)


def _dec_dict(n: dict[str, Any], blobs: list[bytes], depth: int, mat: bool) -> Any:
    return {str(k): _dec(x, blobs, depth + 1, mat) for k, x in _expect(n, "items", dict).items()}


def _dec_float(n: dict[str, Any], blobs: list[bytes], depth: int, mat: bool) -> float:
    text = _expect(n, "v", str)
    if text not in ("nan", "inf", "-inf"):
        raise WireError(f"bad float {text!r}")
    return float(text)


def _dec_numpy(n: dict[str, Any], blobs: list[bytes], depth: int, mat: bool) -> Any:
    arr = _dec_array(n, blobs, ARRAY_DTYPES)
    return arr[()] if n["t"] == "npscalar" else arr


def _dec_torch_label(n: dict[str, Any], blobs: list[bytes], depth: int, mat: bool) -> Any:
    import torch

    text = _expect(n, "v", str)
    if n["t"] == "device":
        return torch.device(text)
    if text not in TENSOR_DTYPES:
        raise WireError(f"bad dtype {text!r}")
    return getattr(torch, text)


_DECODERS: dict[str, Any] = {
    "list": _dec_sequence,
    "tuple": _dec_sequence,
    "dict": _dec_dict,
    "float": _dec_float,
    "opaque": lambda n, blobs, depth, mat: Opaque(str(n.get("type", "?"))[:200]),
    "ndarray": _dec_numpy,
    "npscalar": _dec_numpy,
    "tensor": lambda n, blobs, depth, mat: _dec_tensor(n, blobs, mat),
    "generator": lambda n, blobs, depth, mat: _dec_generator(n, mat),
    "dtype": _dec_torch_label,
    "device": _dec_torch_label,
}


def _expect(n: dict[str, Any], key: str, typ: type) -> Any:
    """A required field of an exact JSON type."""
    value = n.get(key)
    if type(value) is not typ:
        raise WireError(f"field {key!r} must be {typ.__name__}")
    return value


def _dec_array(n: dict[str, Any], blobs: list[bytes], allowed: set[str]) -> np.ndarray:
    """Load a declared array from its .npy blob, checking dtype and shape exactly."""
    dtype = _expect(n, "dtype", str)
    shape = _expect(n, "shape", list)
    index = _expect(n, "blob", int)
    wire_dtype = "float32" if dtype == "bfloat16" else dtype
    if dtype not in allowed:
        raise WireError(f"dtype {dtype!r} not allowed")
    if not all(type(s) is int and 0 <= s < 2**40 for s in shape) or len(shape) > 32:
        raise WireError("bad shape")
    if not 0 <= index < len(blobs):
        raise WireError("blob index out of range")
    try:
        arr = np.load(io.BytesIO(blobs[index]), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a wire error
        raise WireError(f"array payload is not a plain .npy: {type(exc).__name__}") from None
    if type(arr) is not np.ndarray or str(arr.dtype) != wire_dtype or list(arr.shape) != shape:
        raise WireError(f"array payload does not match its declared {dtype} {tuple(shape)}")
    return arr


def _dec_tensor(n: dict[str, Any], blobs: list[bytes], mat: bool) -> Any:
    """Build a CPU tensor (trusted side, with its Origin) or a real one (worker side)."""
    import torch

    arr = _dec_array(n, blobs, TENSOR_DTYPES)
    dtype = getattr(torch, _expect(n, "dtype", str))
    t = torch.from_numpy(arr).to(dtype)  # np.load returned a fresh, writable array: no copy needed
    device = _expect(n, "device", str)
    requires_grad = _expect(n, "requires_grad", bool)
    if mat:
        t = t.to(device)
        if requires_grad:
            t.requires_grad_(True)
        return t
    t.__dict__["_ag_origin"] = Origin(device, requires_grad, _expect(n, "grad_fn", bool))
    return t


def _dec_generator(n: dict[str, Any], mat: bool) -> Any:
    """A seeded torch.Generator (worker side) or its spec (trusted side)."""
    seed = _expect(n, "seed", int)
    device = _expect(n, "device", str)
    if not mat:
        return GeneratorSpec(seed, device)
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


# --------------------------------------------------------------------------- framing

def write_message(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes] = ()) -> None:  # type: ignore[assignment]
    """Write one framed message: magic, header length, JSON header, blobs."""
    header = dict(header, blobs=[len(b) for b in blobs])
    raw = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    stream.write(MAGIC + struct.pack(">I", len(raw)) + raw)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def parse_header(prefix: bytes) -> int:
    """Check the 8-byte prefix and return the header length."""
    if prefix[:4] != MAGIC:
        raise WireError("bad magic bytes (something else wrote to the grader's pipe)")
    (length,) = struct.unpack(">I", prefix[4:8])
    if length > MAX_HEADER:
        raise WireError("header too large")
    return length


def parse_body(raw_header: bytes, max_total: int) -> tuple[dict[str, Any], list[int]]:
    """Parse the JSON header and the declared blob sizes (capped by ``max_total``)."""
    try:
        header = json.loads(raw_header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    if type(header) is not dict:
        raise WireError("header is not a JSON object")
    sizes = header.get("blobs", [])
    if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes):
        raise WireError("bad blob sizes")
    if sum(sizes) > max_total:
        raise WireError(f"reply larger than the {max_total >> 20} MB cap")
    return header, sizes


def read_message(stream: BinaryIO, max_total: int = 1 << 30) -> tuple[dict[str, Any], list[bytes]]:
    """Read one framed message from a blocking stream (used by the worker)."""
    prefix = _read_exact(stream, 8)
    header, sizes = parse_body(_read_exact(stream, parse_header(prefix)), max_total)
    return header, [_read_exact(stream, s) for s in sizes]


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    """Read exactly n bytes or raise EOFError."""
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
