"""azstate: Terraform for the Azkaban workflow scheduler."""

__version__ = "0.1.0"
