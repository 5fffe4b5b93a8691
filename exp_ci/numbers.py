"""The one rule for "is this value a number we can rank, subtract and draw" (pure).

A metric value counts when it is an int or a float, not a bool (YAML's `true` is not 1),
and finite: NaN and ±inf are shown as they are in a table cell, but they never win a
ranking, never make a delta, never fail or pass a gate and are never drawn, because every
comparison with them is meaningless. Text is a number only where a format stores numbers
as text (CSV/TSV plots): `finite_number(value, text=True)`.
"""

from __future__ import annotations

import math


def finite_number(value: object, *, text: bool = False) -> float | None:
    """`value` as a finite float, or None when it is no number (or NaN, or infinite)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif text and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
