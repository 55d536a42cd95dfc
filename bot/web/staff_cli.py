"""``python -m bot staff``: manage staff accounts from a shell (the first owner, a forgotten password).

Passwords are read without echo (or from standard input with ``--password-stdin``, for scripts), never from
the command line, where they would land in the shell's history and the process list. Needs ``REDIS_URL``: the
embedded store of local mode lives inside the web process.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config.settings import Settings
from bot.store import connect
from bot.web.staff_accounts import ROLES, StaffAccounts, StaffProblem

#: Who the audit says made a change from here.
FROM_SHELL = "コマンド(python -m bot staff)"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="add, list or remove staff accounts, set a password (needs REDIS_URL)")
    actions = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a staff member (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=list(ROLES), default="staff")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = actions.add_parser("passwd", help="set a staff member's password (ends their sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = actions.add_parser("remove", help="remove a staff member (ends their sessions)")
    remove.add_argument("name")
    actions.add_parser("list", help="list the accounts and their roles")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("パスワード: ")
    if getpass.getpass("もう一度: ") != first:
        raise StaffProblem("パスワードが一致しません。")
    return first


async def run_staff(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print("error: REDIS_URL is not set: staff accounts are kept in Redis", file=sys.stderr)
        return 2
    store = connect(settings.redis_url)
    accounts = StaffAccounts(store.redis)
    try:
        if args.staff_command == "list":
            for account in await accounts.all():
                print(f"{account.name}\t{account.role}\t{account.updated_by}")
        elif args.staff_command == "add":
            await accounts.add(args.name, _password(args.password_stdin), args.role, FROM_SHELL)
            print(f"added {args.name} ({args.role})")
        elif args.staff_command == "passwd":
            await accounts.set_password(args.name, _password(args.password_stdin), FROM_SHELL)
            print(f"password of {args.name} set; their sessions have ended")
        elif args.staff_command == "remove":
            await accounts.remove(args.name, FROM_SHELL)
            print(f"removed {args.name}; their sessions have ended")
    except StaffProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0
