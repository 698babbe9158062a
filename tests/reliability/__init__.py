"""Faults survived: every kind of call plan and apply make, under every fault the sandbox can
inject. `python -m tests.reliability` prints the matrix."""
