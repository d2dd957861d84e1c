"""``driftkeeper setup``: the arguments and the run of the set-up subcommands (the CLI only
registers them; see :mod:`driftkeeper.cli`)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from .._errors import InputError

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["PRINCIPAL_VARIABLE", "add_setup_parser", "run_setup"]

PRINCIPAL_VARIABLE = "DRIFTKEEPER_IDENTITY_PRINCIPAL_ID"
"""The default ``--principal``: the managed identity's object id (an ``azd up`` output)."""


def add_setup_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    setup = commands.add_parser("setup", help="one-off set-up steps an administrator runs")
    setup_cmds = setup.add_subparsers(dest="setup_command", required=True)
    graph = setup_cmds.add_parser(
        "graph-permissions",
        help="grant driftkeeper's identity the Microsoft Graph application permissions of a "
        "mode (docs/permissions.md); never removes any",
    )
    graph.add_argument(
        "--mode",
        choices=("detect", "rollback"),
        required=True,
        help="detect: read-only; rollback: the reads and the writes rollback sends",
    )
    graph.add_argument(
        "--mail", action="store_true", help="also Mail.Send, for the Graph mail alert sink"
    )
    graph.add_argument(
        "--principal",
        metavar="ID",
        help="the managed identity's object (principal) id, or an app id "
        f"(default: ${PRINCIPAL_VARIABLE})",
    )
    graph.add_argument(
        "--dry-run", action="store_true", help="print what would be granted; grant nothing"
    )


def run_setup(
    args: argparse.Namespace,
    settings: Settings,
    credential: Callable[[], Any],
    out: IO[str],
) -> int:
    """Run ``setup graph-permissions``: 0 when every permission is held afterwards (or, on a
    dry run, the plan was printed); errors raise (the CLI exits 2)."""
    from ..live._graph_client import GraphSession, GraphSettings
    from ..permissions import MAIL_SEND, graph_permissions
    from ._graph_grants import grant_graph_permissions

    principal = args.principal or os.environ.get(PRINCIPAL_VARIABLE, "")
    if not principal.strip():
        raise InputError(f"give --principal (or set {PRINCIPAL_VARIABLE})")
    wanted = list(graph_permissions(args.mode))
    if args.mail:
        wanted.append(MAIL_SEND)
    cred = credential()
    try:
        session = GraphSession(
            GraphSettings.for_endpoint(
                settings.graph_endpoint,
                cred,
                connection_verify=settings.connection_verify,
                max_retries=None,
                retry_delay=None,
            )
        )
        try:
            report = grant_graph_permissions(session, principal, wanted, dry_run=args.dry_run)
        finally:
            session.close()
    finally:
        close = getattr(cred, "close", None)
        if callable(close):
            close()
    for line in report.lines():
        print(line, file=out)
    return 0
