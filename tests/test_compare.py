"""Comparisons: what they accept, what they refuse, and what hidden tests may say."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from autograder import compare
from autograder.errors import CheckFailed
from autograder.worker import protocol


def wire(t):
    tree, blobs = protocol.encode(t)
    return protocol.decode(tree, blobs)


def test_close_values_pass():
    x = torch.randn(3, 4)
    compare.expect_close(wire(x + 1e-7), x, what="f(x)")


@pytest.mark.parametrize("actual,message", [
    (protocol.Opaque("evil.AlwaysEqual"), "expected a torch.Tensor, got an object of type evil.AlwaysEqual"),
    (torch.zeros(4, 3), "returned shape (4, 3), expected (3, 4)"),
    (torch.zeros(3, 4, dtype=torch.float64), "returned dtype float64, expected float32"),
    (torch.full((3, 4), float("nan")), "contains NaN or infinity"),
    (torch.ones(3, 4), "element(s) are wrong"),
    (3.0, "expected a torch.Tensor, got a value of type float"),
])
def test_wrong_results_fail_with_a_precise_message(actual, message):
    with pytest.raises(CheckFailed) as info:
        compare.expect_close(actual, torch.zeros(3, 4), what="f(x)", hint="look here")
    assert message in str(info.value) and "Hint: look here" in str(info.value)


def test_nan_and_inf_positions_must_match_exactly():
    expected = torch.tensor([float("-inf"), 1.0, float("nan")])
    compare.expect_close(torch.tensor([float("-inf"), 1.0, float("nan")]), expected, what="f")
    for wrong in ([0.0, 1.0, float("nan")], [float("-inf"), 1.0, 0.0], [float("inf"), 1.0, float("nan")]):
        with pytest.raises(CheckFailed):
            compare.expect_close(torch.tensor(wrong), expected, what="f")


def test_hidden_messages_never_show_expected_values():
    expected = torch.tensor([1.23456, 2.0])
    with compare.reveal_expected(False), pytest.raises(CheckFailed) as hidden:
        compare.expect_close(torch.tensor([9.87654, 2.0]), expected, what="f")
    with compare.reveal_expected(True), pytest.raises(CheckFailed) as public:
        compare.expect_close(torch.tensor([9.87654, 2.0]), expected, what="f")
    assert "1.23456" not in str(hidden.value) and "9.87654" in str(hidden.value)
    assert "expected 1.23456" in str(public.value)


def test_device_is_checked_against_the_session_device():
    t = wire(torch.zeros(2))
    t.__dict__["_ag_origin"] = protocol.Origin("cuda:0", False, False)
    with compare.reveal_expected(True, "cpu"), pytest.raises(CheckFailed, match="on cuda:0, expected cpu"):
        compare.expect_close(t, torch.zeros(2), what="f")


def test_unchanged_and_no_history():
    x = torch.randn(3)
    compare.expect_unchanged([x, 5], [x.clone(), 5], what="f")
    with pytest.raises(CheckFailed, match="modified its input argument 0"):
        compare.expect_unchanged([x], [x + 1], what="f")
    with pytest.raises(CheckFailed, match="autograd history"):
        compare.expect_no_history(wire(torch.ones(2, requires_grad=True) * 2), what="f")
    compare.expect_no_history(wire(torch.ones(2)), what="f")


def test_expect_equal_is_exact_about_types():
    compare.expect_equal(3, 3, what="n")
    with pytest.raises(CheckFailed):
        compare.expect_equal(3.0, 3, what="n")
    with pytest.raises(CheckFailed):
        compare.expect_equal(protocol.Opaque("x.Y"), 3, what="n")


def test_numpy_results_are_compared_as_plain_arrays():
    expected = np.array([[1.0, float("inf")], [float("nan"), -2.0]])
    compare.expect_close(wire(expected + np.array([[1e-12, 0.0], [0.0, 0.0]])), expected, what="f")
    for actual, message in [
        (torch.from_numpy(expected), "expected a NumPy array, got a 2x2 float64 tensor"),
        (np.float64(1.0), "expected a NumPy array, got a value of type float64"),
        (expected[0], "returned shape (2,), expected (2, 2)"),
        (expected.astype(np.float32), "returned dtype float32, expected float64"),
        (np.full((2, 2), np.nan), "contains NaN or infinity"),
        (expected * 2, "element(s) are wrong"),
    ]:
        with pytest.raises(CheckFailed, match=re.escape(message)):
            compare.expect_close(actual, expected, what="f")


@pytest.mark.parametrize("message", ["p must be in [0, 1], got 1.5", "P=1.5 is not a probability",
                                     "grad output has the wrong shape", "betas[1] must be below 1"])
def test_expect_names_finds_the_argument_as_a_word(message):
    compare.expect_names(message, ("p", "grad_output", "grad output", "betas"), "f(...)")


@pytest.mark.parametrize("message", ["probability must be in [0, 1]", "bad input", "input_p is wrong", "lr_p < 0"])
def test_expect_names_fails_a_message_without_the_argument(message):
    with pytest.raises(CheckFailed, match="does not name the offending argument") as caught:
        compare.expect_names(message, ("p",), "dropout_forward(x, 1.5)")
    assert caught.value.hint.startswith("say which argument is wrong")
