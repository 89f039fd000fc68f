"""Turn plain nested dicts (from YAML / Hydra) into frozen, typed dataclasses.

One generic converter serves every schema in :mod:`sim.engine.scenario`: it reads the
dataclass type hints and each field's ``metadata`` for constraints, rejects
unknown keys (typos), wrong types and out-of-range values, and reports *every*
problem at once in a :class:`ConfigError` whose message names the full key
(``scenario.queue.agents``), the bad value and what is allowed.

Field metadata understood here:

``min`` / ``max``
    inclusive bounds for numbers (``min_exclusive`` / ``max_exclusive`` for strict ones);
``choices``
    the allowed values of a string field;
``doc``
    a short description used in messages.

Probabilities are ``float`` fields with ``min=0, max=1``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "from_dict", "to_dict", "fail_if"]


class ConfigError(ValueError):
    """A user's configuration is invalid; ``problems`` lists one line per key."""

    def __init__(self, problems: list[str], prefix: str = "Invalid configuration"):
        self.problems = list(problems)
        self.prefix = prefix
        super().__init__(f"{prefix}: " + " ".join(p.rstrip(".") + "." for p in problems))

    def __reduce__(self):
        # survive pickling (a worker process of ccsim-calibrate --jobs, joblib, Ray): the
        # default would rebuild it from the message string, one "problem" per character
        return (type(self), (self.problems, self.prefix))


def fail_if(condition: bool, key: str, value: Any, allowed: str) -> list[str]:
    """Return a one-item problem list when ``condition`` holds (a cross-field check)."""
    return [f"{key} = {value!r} is not allowed; {allowed}"] if condition else []


def from_dict(cls: type, data: Any, key: str) -> Any:
    """Build a ``cls`` instance from ``data``; raise :class:`ConfigError` on any problem."""
    problems: list[str] = []
    value = _convert(cls, data, key, problems, {})
    if problems:
        raise ConfigError(problems)
    return value


def to_dict(obj: Any) -> Any:
    """Plain nested dict / list form of a schema instance (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def _join(key: str, name) -> str:
    """The full key of ``name`` under ``key`` (``key`` empty: a file's top level)."""
    return f"{key}.{name}" if key else str(name)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"a mapping of name to {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a mapping with keys " + ", ".join(f.name for f in dataclasses.fields(tp))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _bounds_text(meta: typing.Mapping[str, Any]) -> str:
    parts = []
    if "min_exclusive" in meta:
        parts.append(f"> {meta['min_exclusive']}")
    if "min" in meta:
        parts.append(f">= {meta['min']}")
    if "max" in meta:
        parts.append(f"<= {meta['max']}")
    if "max_exclusive" in meta:
        parts.append(f"< {meta['max_exclusive']}")
    return " and ".join(parts)


def _check_bounds(value: float, key: str, meta, problems: list[str]) -> None:
    bad = (
        ("min" in meta and value < meta["min"])
        or ("max" in meta and value > meta["max"])
        or ("min_exclusive" in meta and value <= meta["min_exclusive"])
        or ("max_exclusive" in meta and value >= meta["max_exclusive"])
    )
    if bad:
        problems.append(f"{key} = {value!r} is out of range; allowed: {_bounds_text(meta)}")


def _convert(tp: Any, data: Any, key: str, problems: list[str], meta) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if data is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            if data is None:
                problems.append(f"{key} is null; allowed: {_type_name(tp)}")
                return None
            return _convert(inner[0], data, key, problems, meta)
        raise TypeError(f"unsupported union in schema at {key}")  # pragma: no cover
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, data, key, problems)
    if origin is tuple:
        if not isinstance(data, (list, tuple)):
            problems.append(f"{key} = {data!r} is not a list; allowed: {_type_name(tp)}")
            return ()
        (item,) = get_args(tp)[:1]
        return tuple(_convert(item, v, f"{key}[{i}]", problems, meta) for i, v in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict):
            problems.append(f"{key} = {data!r} is not a mapping; allowed: {_type_name(tp)}")
            return {}
        _, val_tp = get_args(tp)
        return {str(k): _convert(val_tp, v, _join(key, k), problems, meta)
                for k, v in data.items()}
    return _convert_scalar(tp, data, key, problems, meta)


def _convert_scalar(tp: Any, data: Any, key: str, problems: list[str], meta) -> Any:
    if tp is bool:
        if isinstance(data, bool):
            return data
        problems.append(f"{key} = {data!r} is not true/false")
        return False
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                problems.append(f"{key} = {data!r} is not an integer; allowed: an integer "
                                + _bounds_text(meta))
                return 0
        _check_bounds(data, key, meta, problems)
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            problems.append(f"{key} = {data!r} is not a number; allowed: "
                            + " ".join(["a number", _bounds_text(meta)]).strip())
            return 0.0
        data = float(data)
        if not math.isfinite(data):
            problems.append(f"{key} = {data!r} is not a finite number")
            return 0.0
        _check_bounds(data, key, meta, problems)
        return data
    if tp is str:
        if not isinstance(data, str):
            problems.append(f"{key} = {data!r} is not a string")
            return ""
        choices = meta.get("choices")
        if choices is not None and data not in choices:
            problems.append(f"{key} = {data!r} is not one of the allowed values: "
                            + ", ".join(map(str, choices)))
        return data
    raise TypeError(f"unsupported type {tp!r} in schema at {key}")  # pragma: no cover


def _convert_dataclass(cls: type, data: Any, key: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{key} = {data!r} is not a mapping; allowed: {_type_name(cls)}")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    n_start = len(problems)
    for name in sorted(set(map(str, data)) - set(fields)):
        problems.append(f"{_join(key, name)} is not a known key; allowed keys"
                        + (f" under {key}: " if key else ": ") + ", ".join(sorted(fields)))
    kwargs = {}
    for name, f in fields.items():
        sub = _join(key, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub, problems, f.metadata)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(f"{sub} is required ({_type_name(hints[name])})")
    if len(problems) > n_start:
        return None
    obj = cls(**kwargs)
    check = getattr(obj, "problems", None)
    if check is not None:
        problems.extend(check(key))
    return obj
