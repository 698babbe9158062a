"""Counts in words, with the plural English needs: "1 project", "2 projects", "1,000 changes".

Every view and command message that counts says it through here, so no output reads
"1 changes applied" or "Imported 1 project(s)".
"""

from __future__ import annotations


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun phrase that agrees with it (``many`` defaults to ``one`` + "s")."""
    return f"{n:,} {one if n == 1 else (many if many is not None else one + 's')}"
