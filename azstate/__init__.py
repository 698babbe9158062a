"""azstate: Terraform for the Azkaban workflow scheduler."""

from importlib.metadata import PackageNotFoundError, version

try:
    # Written by the build from the git tag and commit (pyproject.toml, [tool.setuptools_scm]),
    # so `azstate --version` and saved plans name the exact build that made them.
    __version__ = version("azstate")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
