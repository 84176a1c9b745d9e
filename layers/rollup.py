"""Roll-ups up the seven levels: group-bys on the level code every record carries."""

from __future__ import annotations

import pandas as pd

from cim.levels import Level


class RollUpError(ValueError):
    """Records that cannot be rolled up as asked: which column is missing and why it is needed."""


def roll_up(records: pd.DataFrame, level: Level, values: dict[str, str]) -> pd.DataFrame:
    """Aggregate ``records`` to one row per unit of ``level``.

    ``values`` maps an output column to ``"sum"``/``"count"``/``"mean"``... of the input column of the
    same name, or ``"count"`` of rows when the input column is absent.

    >>> roll_up(buildings, Level.DISTRICT, {"residents": "sum", "buildings": "count"})  # doctest: +SKIP
    """
    column = level.column
    if column not in records.columns:
        raise RollUpError(
            f"the records have no {column!r} column, so they cannot be rolled up to the {level.name.lower()} "
            f"level; every record must carry its codes at all seven levels (see cim.levels)"
        )
    grouped = records.groupby(column, observed=True, sort=True)
    out = pd.DataFrame(index=grouped.size().index)
    for name, how in values.items():
        if name in records.columns:
            out[name] = grouped[name].agg(how)
        elif how == "count":
            out[name] = grouped.size()
        else:
            raise RollUpError(f"cannot take the {how} of {name!r}: the records have no such column")
    out.index.name = column
    return out.reset_index()
