"""JSON text read safely: one-line errors for bad text, bad UTF-8, deep nesting and huge numbers."""

from __future__ import annotations

import json
from typing import Any

from .errors import ProcrustesError, shown

MAX_JSON_DEPTH = 64  # nesting of JSON arrays / objects a settings or run file may have


def parse_json(text: Any, what: str) -> Any:
    """``json.loads`` that raises only ``ProcrustesError`` (``'{what}: not valid JSON (why)'``): bad
    UTF-8, deep nesting and numbers of more than 4300 digits (Python's int → str limit) included."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise ProcrustesError(f"{what}={shown(text)}: expected JSON text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ProcrustesError(f"{what}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except UnicodeDecodeError as err:
        raise ProcrustesError(f"{what}: not valid JSON (not UTF-8 text: byte {err.object[err.start]:#04x} "
                              f"at position {err.start})") from None
    except RecursionError:
        raise ProcrustesError(f"{what}: not valid JSON (nested deeper than Python reads)") from None
    except ValueError as err:  # int() past 4300 digits
        reason = "a number of more than 4300 digits" if "digits" in str(err) else shown(str(err))
        raise ProcrustesError(f"{what}: not valid JSON ({reason})") from None
    if nesting_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ProcrustesError(f"{what}: not valid (nested deeper than {MAX_JSON_DEPTH} levels)")
    return data


def nesting_depth(value: Any, stop: int) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar: 0), counted without recursion and
    given up once past ``stop``."""
    deepest, level = 0, [(value, 1)]
    while level:
        item, depth = level.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > stop:
            return deepest
        level.extend((child, depth + 1) for child in children)
    return deepest
