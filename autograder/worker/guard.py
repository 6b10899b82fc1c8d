"""Run-time guard: banned APIs fail when called from the student's file.

The static AST check in the trusted process is the first line; this catches what it
cannot see (``importlib`` and string building). A guarded callable raises
``BannedCallError`` only when a frame of the student's file is on the stack, so the
grader's own yardsticks (captured before the guard goes in) and torch internals work.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

__all__ = ["BannedCallError", "aten_guard", "block_network", "install", "refuse_aten"]


class BannedCallError(RuntimeError):
    """A banned API was called from the student's code."""


def _called_from(filename: str) -> bool:
    """True when a frame of ``filename`` is on the current stack (above the guard that asks)."""
    frame: FrameType | None = sys._getframe(1).f_back  # a kernel called from C++ may have no frame above it
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return True
        frame = frame.f_back
    return False


def _wrap(name: str, original: Callable[..., Any], filename: str, hits: list[str]) -> Callable[..., Any]:
    """A stand-in for ``original`` that refuses calls coming from the student's file."""

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _called_from(filename):
            hits.append(name)
            raise BannedCallError(f"{name} is banned in this assignment")
        return original(*args, **kwargs)

    guarded.__ag_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def _owner(dotted: str) -> tuple[Any, str] | None:
    """Split ``a.b.c`` into (the imported object ``a.b``, ``c``), or None if not importable."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - a prefix that is not a module
            continue
        try:
            for attr in parts[cut:-1]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj, parts[-1]
    return None


def _targets(pattern: str) -> list[tuple[Any, str, str]]:
    """Every (owner, attribute, dotted name) matched by one glob pattern."""
    found = _owner(pattern)
    if found is None:
        return []
    owner, last = found
    prefix = pattern[: len(pattern) - len(last)]
    names = [n for n in dir(owner) if fnmatch.fnmatchcase(n, last)] if any(c in last for c in "*?[") else [last]
    root = pattern.split(".", 1)[0]
    out = []
    for attr in names:
        value = getattr(owner, attr, None)
        if inspect.isclass(value) and callable(getattr(value, "forward", None)):
            out.append((value, "forward", f"{prefix}{attr}"))
        elif _guardable(value, root):
            out.append((owner, attr, prefix + attr))
    return out


def _guardable(value: Any, root: str) -> bool:
    """A plain function or builtin of the banned package (not a class, module or re-export)."""
    if not (inspect.isfunction(value) or inspect.isbuiltin(value)) or getattr(value, "__ag_guarded__", False):
        return False
    module = getattr(value, "__module__", None) or root
    return module == root or module.startswith(root + ".")


def install(calls: list[str], methods: list[str], filename: str, hits: list[str]) -> int:
    """Guard every callable matched by ``calls`` and the tensor ``methods``; return the count."""
    count = 0
    for pattern in calls:
        if pattern.split(".", 1)[0] not in sys.modules:
            continue  # never import a banned package just to guard it (backprop bans torch itself)
        for owner, attr, dotted in _targets(pattern):
            try:
                setattr(owner, attr, _wrap(dotted, getattr(owner, attr), filename, hits))
                count += 1
            except (AttributeError, TypeError):
                continue
    torch = sys.modules.get("torch")
    if torch is not None:
        for method in methods:
            original = getattr(torch.Tensor, method, None)
            if callable(original):
                setattr(torch.Tensor, method, _wrap(f"Tensor.{method}", original, filename, hits))
                count += 1
    return count


BACKEND_BLOCKS = ("Dense", "Quantized", "Sparse", "SparseCsr", "NestedTensor")
"""The dispatch-key blocks whose keys hold the kernels that compute (CPU, SparseCPU, NestedTensorCUDA ...)."""
AUTOGRAD_BLOCKS = ("AutogradFunctionality",)
"""The block of per-backend autograd keys (AutogradCPU ...), where an operator that decomposes into others
(CompositeImplicitAutograd: ``softmax`` into ``_softmax``) is decomposed."""
AUTOGRAD_OTHERS = ("AutogradOther", "AutogradNestedTensor")


def _keys(dispatcher: Any, blocks: tuple[str, ...], others: tuple[str, ...] = ()) -> list[str]:
    """The dispatch keys of ``blocks`` (``StartOfDenseBackends`` .. ``EndOfDenseBackends`` and the like) that this
    torch accepts by name, plus ``others``; Meta ones left out: a meta tensor carries no values."""
    keys, block = [], None
    for name in dispatcher.DispatchKey.__members__:
        if name.startswith("StartOf") and name.endswith("Backends"):
            block = name[len("StartOf"):-len("Backends")]
        elif name.startswith("EndOf"):
            block = None
        elif block in blocks and not name.endswith("Meta"):
            keys.append(name)
    return [k for k in [*keys, *others] if _parses(dispatcher, k)]


def _parses(dispatcher: Any, key: str) -> bool:
    """Whether the dispatcher accepts ``key`` by name (some enum members, e.g. QuantizedHIP, are not runtime keys)."""
    try:
        dispatcher._dispatch_key_parse(key)
    except RuntimeError:
        return False
    return True


def refuse_aten(ops: list[str], filename: str, hits: list[str]) -> Any:
    """Refuse banned ATen operators called from the student's file, in the operators' own kernels.

    Every backend kernel of a banned operator (CPU, CUDA, sparse, quantized, nested ...) is replaced
    by one that refuses when a frame of the student's file is on the stack and otherwise calls the
    kernel it replaced (``torch.library.get_kernel``). Every route to the computation ends in one of
    them (``torch.ops.aten._softmax.out``, autograd's backward, inference mode), and every other
    operator runs untouched, at no cost. An operator that decomposes into others
    (CompositeImplicitAutograd: ``softmax``) has its decomposition replaced the same way, at its
    autograd keys as well as its backend keys, all captured before any is replaced, so the grader's
    own calls still decompose and differentiate as before.

    Returns the ``torch.library.Library`` holding the replacements (they last as long as it does), or
    None when torch is not loaded, no operator is banned, or this torch cannot call a replaced kernel
    (``aten_guard`` then does the work per call, more slowly).
    """
    torch = sys.modules.get("torch")
    if torch is None or not ops or not hasattr(getattr(torch, "library", None), "get_kernel"):
        return None
    import warnings

    dispatcher = torch._C
    backend = _keys(dispatcher, BACKEND_BLOCKS)
    decomposing = backend + _keys(dispatcher, AUTOGRAD_BLOCKS, AUTOGRAD_OTHERS)
    library = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding a previously registered kernel": that is the point
        for name in ops:
            packet = getattr(torch.ops.aten, name, None)
            for overload in packet.overloads() if packet is not None else ():
                suffix = "" if overload == "default" else f".{overload}"
                qualified = f"aten::{name}{suffix}"
                composite = dispatcher._dispatch_has_kernel_for_dispatch_key(qualified, "CompositeImplicitAutograd")
                originals = {key: torch.library.get_kernel(qualified, key) for key in (decomposing if composite
                             else backend) if dispatcher._dispatch_has_computed_kernel_for_dispatch_key(qualified, key)}
                for key, original in originals.items():
                    library.impl(f"{name}{suffix}", _refusing(name, original, filename, hits), key, with_keyset=True)
    return library


def _refusing(name: str, original: Any, filename: str, hits: list[str]) -> Callable[..., Any]:
    """A kernel that refuses a call coming from the student's file and passes any other to ``original``."""

    def kernel(keyset: Any, *args: Any, **kwargs: Any) -> Any:
        if _called_from(filename):
            _refuse_operator(name, hits)
        return original.call_boxed(keyset, *args, **kwargs)

    return kernel


def _refuse_operator(name: str, hits: list[str]) -> NoReturn:
    """Record the banned ATen operator ``name`` as hit and refuse the call (both ATen guards)."""
    hits.append(f"aten.{name}")
    raise BannedCallError(f"the ATen operator {name} is banned in this assignment")


def aten_guard(ops: list[str], filename: str, hits: list[str]) -> Any:
    """A TorchDispatchMode that refuses banned ATen operators called from the student's file.

    It sees every route to a kernel (``torch.softmax``, ``torch.ops.aten._softmax``,
    ``torch._C._VariableFunctions.softmax`` ...), since all of them reach the dispatcher, at the
    cost of a Python call for every operator run under it: the fallback where ``refuse_aten`` is
    not available. Returns None when torch is not loaded or no operator is banned.
    """
    torch = sys.modules.get("torch")
    if torch is None or not ops:
        return None
    from torch.utils._python_dispatch import TorchDispatchMode

    banned = frozenset(ops)

    class BannedOperators(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # Otherwise PyTorch wraps __torch_dispatch__ in torch._dynamo.disable, and the first
            # call imports torch._dynamo: about 1 s of every worker's start, for a guard that
            # never runs under torch.compile's tracing.
            return False

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            name = func.overloadpacket.__name__
            if name in banned and _called_from(filename):
                _refuse_operator(name, hits)
            return func(*args, **(kwargs or {}))

    return BannedOperators


NETWORK_FAMILIES = (2, 10, 17)
"""AF_INET, AF_INET6, AF_PACKET: socket families that reach a network (AF_UNIX stays allowed)."""


def _refuse_network(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: creating a network socket fails (an audit hook cannot be removed once added)."""
    if event == "socket.__new__" and len(args) > 1 and args[1] in NETWORK_FAMILIES:
        raise PermissionError("network access is not allowed while grading")
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        raise PermissionError("network access is not allowed while grading")


def block_network() -> None:
    """Refuse network sockets and name lookups in this process for good (every isolation level).

    Bubblewrap also gives the worker an empty network namespace; at the user and plain levels
    this hook is the barrier for Python code (C extensions and ctypes, which are flagged by the
    static check, could go around it).
    """
    sys.addaudithook(_refuse_network)
