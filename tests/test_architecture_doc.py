"""docs/architecture.md says it describes the tree as it is: every module it names exists, and
every module of the package is named (directly, or by its folder's ``folder/*``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "azstate"
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
NAMED = set(re.findall(r"`(?:azstate/)?([a-z_]+(?:/[a-z_]+)*(?:\.py|/\*))`", PAGE))


def modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def test_every_module_is_named_on_the_page() -> None:
    folders = {name.removesuffix("/*") for name in NAMED if name.endswith("/*")}
    unnamed = {m for m in modules() if m not in NAMED and m.rsplit("/", 1)[0] not in folders}
    assert not unnamed, f"docs/architecture.md does not name: {sorted(unnamed)}"


def test_every_module_the_page_names_exists() -> None:
    files = {name for name in NAMED if name.endswith(".py")}
    gone = {name for name in files if not (PACKAGE / name).exists() and not (ROOT / name).exists()}
    assert not gone, f"docs/architecture.md names modules that do not exist: {sorted(gone)}"
