"""python -m tests.reliability: the fault matrix, calls x faults."""

import logging

from tests.reliability.matrix import print_matrix

logging.disable(logging.WARNING)
raise SystemExit(print_matrix())
