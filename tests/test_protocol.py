"""The wire format: round trips of plain data, and refusal of everything else."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.worker import protocol

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def roundtrip(value, **kwargs):
    tree, blobs = protocol.encode(value)
    return protocol.decode(tree, blobs, **kwargs)


@given(plain)
def test_plain_values_round_trip(value):
    assert roundtrip(value) == value


@given(hnp.arrays(st.sampled_from(["float16", "float32", "float64", "int64", "bool", "uint8"]),
                  hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)))
@settings(max_examples=50)
def test_arrays_round_trip_exactly(arr):
    back = roundtrip(arr)
    assert type(back) is np.ndarray and back.dtype == arr.dtype and back.shape == arr.shape
    assert np.array_equal(back, arr, equal_nan=arr.dtype.kind == "f")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.bool])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_tensors_round_trip_with_origin(dtype, shape):
    t = (torch.randn(shape) * 3).to(dtype)
    back = roundtrip(t)
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == t.shape
    assert torch.equal(back, t)
    assert protocol.origin_of(back) == protocol.Origin("cpu", False, False)


def test_non_finite_floats_and_tuples():
    value = (float("nan"), float("inf"), -float("inf"), 1.5)
    back = roundtrip(value)
    assert type(back) is tuple and np.isnan(back[0]) and back[1:] == (float("inf"), -float("inf"), 1.5)


def test_autograd_state_is_reported():
    x = torch.ones(2, requires_grad=True)
    origin = protocol.origin_of(roundtrip(x * 2))
    assert origin is not None and origin.requires_grad and origin.has_grad_fn


def test_materialize_builds_real_tensors_and_generators():
    tree, blobs = protocol.encode([torch.ones(2, requires_grad=True), protocol.GeneratorSpec(7)], device="cpu")
    t, gen = protocol.decode(tree, blobs, materialize=True)
    assert t.requires_grad and isinstance(gen, torch.Generator)
    assert torch.equal(torch.rand(3, generator=gen), torch.rand(3, generator=torch.Generator().manual_seed(7)))


class Sneaky(torch.Tensor):
    def __eq__(self, other):  # type: ignore[override]
        return True


class AlwaysEqual:
    def __eq__(self, other):
        return True


class SubArray(np.ndarray):
    pass


@pytest.mark.parametrize("value", [
    AlwaysEqual(), torch.ones(2).as_subclass(Sneaky), np.zeros(2).view(SubArray),
    {1: 2}, 2**70, True.__class__.__mro__, torch.ones(2).to_sparse(),
], ids=["always-equal", "tensor-subclass", "ndarray-subclass", "int-keys", "huge-int", "types", "sparse"])
def test_anything_not_plain_becomes_opaque(value):
    back = roundtrip(value)
    leaves = back if isinstance(back, tuple) else (back,)
    assert all(isinstance(x, protocol.Opaque) for x in leaves)


def _array_node(arr, dtype=None, shape=None):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"t": "ndarray", "dtype": dtype or str(arr.dtype), "shape": shape or list(arr.shape), "blob": 0}, [buf.getvalue()]


@pytest.mark.parametrize("case", ["pickle", "object-npy", "shape-lie", "dtype-lie", "blob-index", "bad-tag", "bad-float"])
def test_malformed_payloads_are_refused(case):
    arr = np.zeros((2, 2))
    if case == "pickle":
        node, blobs = {"t": "ndarray", "dtype": "float64", "shape": [2, 2], "blob": 0}, [pickle.dumps(arr)]
    elif case == "object-npy":
        buf = io.BytesIO()
        np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        node, blobs = {"t": "ndarray", "dtype": "float64", "shape": [1], "blob": 0}, [buf.getvalue()]
    elif case == "shape-lie":
        node, blobs = _array_node(arr, shape=[4])
    elif case == "dtype-lie":
        node, blobs = _array_node(arr, dtype="float32")
    elif case == "blob-index":
        node, blobs = {"t": "ndarray", "dtype": "float64", "shape": [2, 2], "blob": 3}, []
    elif case == "bad-tag":
        node, blobs = {"t": "pickle", "data": "x"}, []
    else:
        node, blobs = {"t": "float", "v": "1e999"}, []
    with pytest.raises(protocol.WireError):
        protocol.decode(node, blobs)


def test_framing_round_trip_and_bad_magic():
    buf = io.BytesIO()
    protocol.write_message(buf, {"op": "x"}, [b"abc", b""])
    buf.seek(0)
    header, blobs = protocol.read_message(buf)
    assert header["op"] == "x" and blobs == [b"abc", b""]
    with pytest.raises(protocol.WireError):
        protocol.parse_header(b"XXXX\x00\x00\x00\x01")
    with pytest.raises(protocol.WireError):
        protocol.parse_body(b'{"blobs": [1000]}', max_total=10)
