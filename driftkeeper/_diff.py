"""Field-level differences between two normalized states, and the folding that precedes them.

Normalized states are plain JSON values. Dicts are compared key by key (a key on one side
only is an added or removed item); lists are already sorted by the kind's normalizer, so
they compare as sets; scalars compare by equality.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ._model import Change

__all__ = ["canonical_json", "diff_states", "fold"]


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fold(
    value: Any,
    *,
    drop: frozenset[str] = frozenset(),
    drop_anywhere: frozenset[str] = frozenset(),
    casefold: Callable[[str], bool] = lambda key: False,
    key: str = "",
) -> Any:
    """Fold what the API treats alike: null / [] / {} / "" / false / absent all vanish.

    ``drop`` names volatile top-level keys to remove (nested ids are settings: kept);
    ``drop_anywhere`` names volatile keys removed at any depth (timestamps); OData metadata
    keys (``@odata.type``, ``x@odata.context``) are removed everywhere;
    ``casefold(key)`` says whether the string values under ``key`` are case-insensitive enums
    or ids. Lists of scalars are sorted
    and de-duplicated; lists of objects are sorted by their canonical JSON.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in drop or k in drop_anywhere or "@odata." in k:
                continue
            folded = fold(v, drop_anywhere=drop_anywhere, casefold=casefold, key=k)
            if not _is_empty(folded):
                out[k] = folded
        return out
    if isinstance(value, list | tuple):
        items = [fold(v, drop_anywhere=drop_anywhere, casefold=casefold, key=key) for v in value]
        items = [v for v in items if not _is_empty(v)]
        if all(isinstance(v, str | int | float | bool) for v in items):
            return sorted(set(items), key=lambda v: (type(v).__name__, v))
        unique = {canonical_json(v): v for v in items}
        return [unique[k] for k in sorted(unique)]
    if isinstance(value, str) and casefold(key):
        return value.casefold()
    return value


def diff_states(expected: Any, actual: Any, path: str = "") -> list[Change]:
    """Every difference between two normalized states, as (path, expected, actual)."""
    return list(_walk(expected, actual, path))


def _walk(expected: Any, actual: Any, path: str) -> Iterator[Change]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        # Only keys that differ are sorted and walked: states hold ~100k equal items.
        differing = [
            k
            for k in expected.keys() | actual.keys()
            if k not in expected or k not in actual or expected[k] != actual[k]
        ]
        for key in sorted(differing, key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                yield Change(sub, expected[key], None)
            elif key not in expected:
                yield Change(sub, None, actual[key])
            else:
                yield from _walk(expected[key], actual[key], sub)
    elif expected != actual:
        yield Change(path, expected, actual)
