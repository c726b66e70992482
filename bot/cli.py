"""The `putokaz` command line: one entry point, subcommands per area."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot import directory_cli, telegram_cli
from bot.console import cli as console_cli
from bot.settings import SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="putokaz",
                                     description="Putokaz: signpost to services for migrants in Serbia.")
    areas = parser.add_subparsers(dest="area", required=True, metavar="COMMAND")
    directory_cli.register(areas)
    telegram_cli.register(areas)
    console_cli.register(areas)
    _register_run(areas)
    return parser


def _register_run(areas: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = areas.add_parser("run", help="start the Rasa server, the action server and the gateway on this machine")
    run.add_argument("--no-train", action="store_true", help="do not train a model when none is up to date")
    run.set_defaults(handler=_run)
    train = areas.add_parser("train", help="train the Rasa model into models/ (skipped when nothing changed)")
    train.add_argument("--force", action="store_true")
    train.set_defaults(handler=_train)


def _run(args: argparse.Namespace) -> int:
    from bot.runner import run_all

    return run_all(train_model=not args.no_train)


def _train(args: argparse.Namespace) -> int:
    from bot.runner import train

    return 0 if train(force=args.force) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `putokaz ... | head`
        return 0
    except SettingsError as exc:  # a bad setting or teams file: its name, file and line, no traceback
        print(f"putokaz: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
