"""`kubenas dashboard`: pick the source, check it reads, serve until stopped.

A source that cannot be read (a missing folder, a malformed result.json, an unreachable
cluster) is one line on stderr and exit code 2, before the server starts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from kubenas.dashboard.server import Source, make_server
from kubenas.dashboard.views import ReadError

EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--runs", metavar="DIR",
                        help="a run folder of `kubenas run`, or a folder of them")
    source.add_argument("--cluster", action="store_true",
                        help="NASExperiments on the cluster of your kubeconfig")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-n", "--namespace",
                       help="namespace to read, or several, comma-separated (default: the "
                            "context's namespace)")
    where.add_argument("-A", "--all-namespaces", action="store_true",
                       help="read every namespace")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080,
                        help="port to listen on; 0 picks a free one (default: 8080)")
    parser.add_argument("--poll", type=float, default=3.0, metavar="SECONDS",
                        help="how often the page refreshes (default: 3)")


def run(args: argparse.Namespace) -> int:
    try:
        source = _source(args)
        source.check()  # type: ignore[attr-defined]
    except ReadError as exc:
        return _error(str(exc))
    if args.poll <= 0:
        return _error("--poll must be positive")
    try:
        server = make_server(source, args.host, args.port, args.poll)
    except OSError as exc:
        return _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host, port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{host}]" if ":" in host else host
    print(f"kubenas: dashboard of {source.describe()} at http://{shown}:{port}/ "
          "(Ctrl-C stops)", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _source(args: argparse.Namespace) -> Source:
    if args.runs is not None:
        from pathlib import Path

        from kubenas.dashboard.local import LocalRuns

        return LocalRuns(Path(args.runs))
    try:
        from kubenas.dashboard.cluster import ClusterExperiments, connect
    except ModuleNotFoundError as exc:
        raise ReadError(f"--cluster needs {exc.name}, which comes with the operator extra: "
                        "pip install 'kubenas[operator]'") from None
    api, namespace = connect(args.kubeconfig, args.context)
    server = api.client.configuration.host
    chosen = tuple(n for n in (args.namespace or namespace).split(",") if n)
    return ClusterExperiments(api, None if args.all_namespaces else chosen, server)


def _error(message: str) -> int:
    print(f"kubenas: error: {message}", file=sys.stderr)
    return EXIT_USAGE
