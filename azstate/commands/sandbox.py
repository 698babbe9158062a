"""azstate sandbox serve: the built-in Azkaban emulator, in the foreground until Ctrl-C.

A new user can try plan and apply against it with no Azkaban at hand; the benchmark drives it
from another process through its ``/__sandbox__`` control endpoints.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from azstate.errors import AzstateError

DEFAULT_DATA_DIR = Path(".azstate/sandbox")
DEFAULT_PORT = 8081


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(
        dest="sandbox_action", metavar="ACTION", required=True, parser_class=type(parser)
    )
    serve = actions.add_parser(
        "serve",
        help="serve the emulator until interrupted",
        description="Serve the Azkaban emulator until interrupted (Ctrl-C).\n"
        "Log in as user azkaban, password azkaban (also reader/reader, metrics/metrics).",
        epilog="example:\n  azstate sandbox serve --port 8081\n"
        "  AZKABAN_URL=http://127.0.0.1:8081 AZKABAN_USERNAME=azkaban "
        "AZKABAN_PASSWORD=azkaban azstate plan",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on (default: 8081; 0 picks a free one)",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where its state is kept (default: .azstate/sandbox)",
    )
    serve.add_argument(
        "--latency-ms", type=float, default=0.0, help="milliseconds added to every request"
    )
    serve.add_argument(
        "--timezone",
        default="America/Los_Angeles",
        help="the server's time zone (Azkaban's default.timezone.id)",
    )


def run(args: argparse.Namespace) -> int:
    from azstate.sandbox.server import SandboxServer

    if args.port < 0 or args.port > 65535:
        raise AzstateError(f"--port must be between 0 and 65535, not {args.port}")
    if args.latency_ms < 0:
        raise AzstateError("--latency-ms cannot be negative")
    server = SandboxServer(
        data_dir=args.data_dir, host=args.host, port=args.port, timezone=args.timezone
    )
    server.faults.latency = args.latency_ms / 1000
    server.start()
    print(f"Azkaban sandbox listening on {server.url}", file=sys.stderr)
    print(
        "  log in as user azkaban, password azkaban (also reader/reader, metrics/metrics)",
        file=sys.stderr,
    )
    print(f"  state in {args.data_dir}", file=sys.stderr)
    print(
        f"  try: AZKABAN_URL={server.url} AZKABAN_USERNAME=azkaban AZKABAN_PASSWORD=azkaban "
        "azstate plan",
        file=sys.stderr,
    )
    print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
    stopped = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    print("Sandbox stopped.", file=sys.stderr)
    return 0
