"""Shared helpers of the CLI tests (a plain module: a second conftest.py would shadow the
`conftest` that tests/causalvae imports by name)."""

from __future__ import annotations

from click.testing import CliRunner

from cli.causalvae import main


def invoke(*args: str) -> tuple[int, str]:
    """Run the causalvae CLI in-process: (exit code, output); an exception that is not a clean
    exit is raised, so a traceback fails the test where it happened."""
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output
