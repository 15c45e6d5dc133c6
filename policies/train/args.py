"""Command-line flags from a dataclass of arguments: one `--flag` per field, the field's docstring as
its help (CleanRL's habit, so an argument is documented once, where it is declared)."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
from typing import Any, Callable, TypeVar

from robot.argtypes import Parser

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of a dataclass."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            docs[a.target.id] = str(b.value.value).strip()  # type: ignore[union-attr]
    return docs


def parse_dataclass_args(cls: type[T], argv: list[str] | None, prog: str, description: str,
                         choices: dict[str, tuple[Any, ...]] | None = None,
                         types: dict[str, Callable[[str], Any]] | None = None) -> T:
    """Parse `argv` into an instance of the dataclass `cls` (bool fields get --x / --no-x). `types` gives
    fields a checking parser (robot.argtypes: a count that must be positive, a share from 0 to 1), so a
    bad value stops at the command line instead of running on. Options are never abbreviated."""
    p = Parser(prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    docs = {k: v.replace("%", "%%") for k, v in field_docs(cls).items()}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=docs.get(f.name, ""))
        else:
            typ = (types or {}).get(f.name) or {"int": int, "float": float, "str": str}[str(f.type)]
            p.add_argument(flag, type=typ, default=f.default, help=docs.get(f.name, ""),
                           choices=(choices or {}).get(f.name))
    return cls(**vars(p.parse_args(argv)))
