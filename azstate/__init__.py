"""azstate: Terraform for the Azkaban workflow scheduler."""

import gc

# The collector's thresholds for a command (cli.tune_gc says why), set before anything else is
# imported: at CPython's defaults, importing pydantic, requests and rich alone runs a hundred
# collections, 15 ms of every command.
GC_THRESHOLDS = (1_000_000, 1_000, 1_000)
gc.set_threshold(*GC_THRESHOLDS)

try:
    # Written at install from the git tag and commit (pyproject.toml, [tool.setuptools_scm]),
    # so `azstate --version` and saved plans name the exact build that made them.
    from azstate._version import __version__ as __version__
except ImportError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
