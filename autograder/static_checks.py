"""Static checks, in the trusted process: syntax, encoding, and banned APIs by AST.

Imports are resolved to dotted names (``import torch.nn.functional as F`` makes
``F.softmax`` read as ``torch.nn.functional.softmax``), every reference is matched against
the assignment's globs, and each hit is charged to the top-level function or class that
contains it and to every top-level function that (transitively) uses that one. Escape
hatches that can hide a banned call (``eval``, ``importlib``, ``getattr(torch, name)``...)
are banned everywhere.
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass, field

from .assignment import Banned

__all__ = ["ESCAPE_HATCHES", "Hit", "Report", "check"]

MODULE_LEVEL = "<module>"
ESCAPE_HATCHES = (
    "eval", "exec", "compile", "__import__", "globals", "vars", "__builtins__",
    "importlib", "importlib.*", "ctypes", "ctypes.*", "builtins", "builtins.*",
    "sys.modules", "gc", "gc.*", "inspect", "inspect.*", "*.__dict__", "*.__getattribute__",
    "torch.ops", "torch.ops.*", "torch._C", "torch._C.*", "torch.utils._python_dispatch*",
    "sys.setprofile", "sys.settrace", "threading.setprofile", "threading.settrace",
)
ESCAPE_REASON = "dynamic code, imports and reflection can hide banned calls"
SYNTAX_HINT = "fix the syntax error; no test can run until the file parses."


@dataclass(frozen=True)
class Hit:
    """One banned reference: the name as resolved, and where it is."""

    name: str
    line: int
    reason: str


@dataclass
class Report:
    """Result of the static checks: a syntax error, or the banned hits per top-level name."""

    syntax_error: str | None = None
    """Why the file cannot be loaded at all (syntax, encoding, empty, or no such file), for the student."""
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    """Top-level name (or ``<module>``) -> banned references it contains or reaches."""
    hint: str = SYNTAX_HINT
    """What to do about ``syntax_error``."""

    def violations(self, name: str) -> list[Hit]:
        """Banned references that a call to top-level ``name`` would run (plus module level)."""
        top = name.split(".", 1)[0]
        return self.hits.get(MODULE_LEVEL, []) + self.hits.get(top, [])

    def blocker(self, name: str) -> tuple[str, str] | None:
        """Why top-level ``name`` cannot be run at all, as (problem, hint) for the student; None if it can."""
        if self.syntax_error:
            return f"Your file could not be loaded: {self.syntax_error}", self.hint
        top = self.hits.get(MODULE_LEVEL, [])
        if top:
            names = ", ".join(f"{h.name} (line {h.line})" for h in top)
            return (f"Your file uses {names} outside any function, which this assignment does not allow: "
                    f"{top[0].reason}.", "remove it from the top level of your file: until then no test can run, "
                    "not even those of functions that do not use it.")
        hits = self.violations(name)
        if hits:
            names = ", ".join(f"{h.name} (line {h.line})" for h in hits)
            return (f"{name} uses {names}, which this assignment does not allow: {hits[0].reason}.",
                    "rewrite it with elementary tensor operations.")
        return None

    def as_dict(self) -> dict[str, object]:
        """Plain data for results.json's extra_data."""
        return {
            "syntax_error": self.syntax_error,
            "banned": {k: [f"{h.name} (line {h.line})" for h in v] for k, v in self.hits.items() if v},
        }


def check(source: bytes, banned: Banned, filename: str) -> Report:
    """Run every static check over one submitted file."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Report(syntax_error=f"{filename} is not UTF-8 text (byte {exc.start} is not valid UTF-8).",
                      hint="save the file with the UTF-8 encoding (your editor's 'Save with Encoding' or 'Save As').")
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        return Report(syntax_error=f"{filename} line {exc.lineno}: SyntaxError: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return Report(syntax_error=f"{filename} cannot be parsed: {type(exc).__name__}")
    if not tree.body:
        what = "holds only comments" if text.strip() else "is empty"
        return Report(syntax_error=f"{filename} {what}: it defines none of the functions the tests call.",
                      hint=f"submit {filename} with your code in it (save it in your editor before uploading it).")
    visitor = _Visitor(banned)
    visitor.visit(tree)
    return Report(hits=_propagate(visitor.direct, visitor.uses))


class _Visitor(ast.NodeVisitor):
    """Collects banned references and the top-level names each top-level def uses."""

    def __init__(self, banned: Banned) -> None:
        self.banned = banned
        self.aliases: dict[str, str] = {}
        self.scope = MODULE_LEVEL
        self.direct: dict[str, list[Hit]] = {MODULE_LEVEL: []}
        self.uses: dict[str, set[str]] = {MODULE_LEVEL: set()}

    # -- scopes
    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.scope = stmt.name
                self.direct.setdefault(stmt.name, [])
                self.uses.setdefault(stmt.name, set())
            else:
                self.scope = MODULE_LEVEL
            self.visit(stmt)
        self.scope = MODULE_LEVEL

    # -- imports bind aliases (anywhere; later bindings win, as at run time); usage is what counts
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._match(alias.name, node.lineno)  # a banned module (e.g. torch in backprop) is banned to import
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".", 1)[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            full = f"{base}.{alias.name}" if base else alias.name
            self.aliases[alias.asname or alias.name] = full
            self._match(full, node.lineno)

    # -- references
    def visit_Name(self, node: ast.Name) -> None:
        self.uses[self.scope].add(node.id)
        resolved = self.aliases.get(node.id, node.id)
        self._match(resolved, node.lineno)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node, self.aliases)
        if dotted is not None:
            self._match(dotted, node.lineno)
        elif node.attr in self.banned.methods:
            self._hit(f".{node.attr}()", node.lineno, self.banned.reason)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2:
            first = node.args[0]
            target = _dotted(first, self.aliases) if isinstance(first, (ast.Name, ast.Attribute)) else None
            name_arg = node.args[1]
            if isinstance(name_arg, ast.Constant) and isinstance(name_arg.value, str):
                attr = name_arg.value
                if target is not None and target.split(".", 1)[0] in set(self.aliases.values()):
                    self._match(f"{target}.{attr}", node.lineno)
                elif attr in self.banned.methods:
                    self._hit(f".{attr}()", node.lineno, self.banned.reason)
            elif target is not None and target.split(".", 1)[0] in set(self.aliases.values()):
                self._hit(f"{func.id}({target}, <computed name>)", node.lineno, ESCAPE_REASON)
        self.generic_visit(node)

    # -- matching
    def _match(self, dotted: str, line: int) -> None:
        """Record a hit if ``dotted`` matches a banned glob or an escape hatch."""
        for pattern in ESCAPE_HATCHES:
            if fnmatch.fnmatchcase(dotted, pattern):
                self._hit(dotted, line, ESCAPE_REASON)
                return
        for pattern in self.banned.calls:
            if fnmatch.fnmatchcase(dotted, pattern):
                self._hit(dotted, line, self.banned.reason)
                return

    def _hit(self, name: str, line: int, reason: str) -> None:
        self.direct[self.scope].append(Hit(name, line, reason))


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``a.b.c`` with the root resolved through import aliases, or None if not a plain chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _propagate(direct: dict[str, list[Hit]], uses: dict[str, set[str]]) -> dict[str, list[Hit]]:
    """Charge each top-level def with the hits of every top-level def it reaches."""
    out: dict[str, list[Hit]] = {}
    for name in direct:
        seen, stack, hits = {name}, [name], []
        while stack:
            current = stack.pop()
            hits += direct.get(current, [])
            for used in uses.get(current, ()):
                if used in direct and used not in seen and used != MODULE_LEVEL:
                    seen.add(used)
                    stack.append(used)
        out[name] = sorted(set(hits), key=lambda h: (h.line, h.name))
    return out
