"""`putokaz console ...`: counsellor accounts (the password is read from standard input)."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.handoff.machine import ROLES

LANGUAGES = ("en", "ar", "fa", "ps", "sr")


def register(areas: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    console = areas.add_parser("console", help="the counsellor console: accounts")
    commands = console.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = commands.add_parser(
        "add-user",
        help="create a console account; the password is read from standard input",
        description="Create a console account. The password is read from standard input "
        "(e.g. `echo 'a long password' | putokaz console add-user amina --role counsellor`).",
    )
    add.add_argument("name", help="the user name (letters, digits, . _ -)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--languages",
        default="",
        metavar="CODES",
        help=f"comma-separated languages the person speaks ({','.join(LANGUAGES)})",
    )
    add.add_argument(
        "--team",
        default=None,
        metavar="ID",
        help="the team's id in PUTOKAZ_TEAMS_FILE, e.g. sid (default: the fallback team)",
    )
    add.set_defaults(handler=_add_user)


def _read_password() -> str | None:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        return first if getpass.getpass("Again: ") == first else None
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _add_user(args: argparse.Namespace) -> int:
    from bot.console.accounts import AccountError, create_user, password_problem
    from bot.gateway.db import migrate
    from bot.settings import teams_from_env
    from service_directory import open_directory

    languages = tuple(c.strip().lower() for c in args.languages.split(",") if c.strip())
    teams = teams_from_env()  # a bad teams file stops here, naming its file, line and field
    if args.team is not None and teams.get(args.team) is None:
        print(f"putokaz console add-user: no team {args.team!r} in {teams.source}; "
              f"teams: {', '.join(teams.ids)}", file=sys.stderr)
        return 2
    password = _read_password()
    if password is None:
        print("putokaz console add-user: the two passwords differ", file=sys.stderr)
        return 2
    problem = password_problem(password)
    if problem:  # before opening the database: a quick, clear answer
        print(f"putokaz console add-user: {problem}", file=sys.stderr)
        return 2
    try:
        engine = open_directory()
        try:
            migrate(engine)
            user = create_user(engine, args.name, password, args.role, languages, args.team)
        finally:
            engine.dispose()
    except AccountError as exc:
        print(f"putokaz console add-user: {exc}", file=sys.stderr)
        return 2
    extra = f", languages {','.join(user.languages)}" if user.languages else ""
    extra += f", team {user.team}" if user.team else ""
    print(f"created {user.role} {user.username}{extra}")
    return 0
