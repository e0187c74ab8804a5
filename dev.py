#!/usr/bin/env python3
"""The two commands of the quick start; needs nothing but Python 3.11+.

    python3 dev.py start   set up .venv, migrate, load the demo zone, serve on http://127.0.0.1:5000
    python3 dev.py test    set up .venv with the test tools, run ruff and the whole test suite
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(extras: str = "") -> None:
    """Create .venv and install the desk into it, again only when pyproject.toml changed."""
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed{extras or '-base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("Installing the desk and its dependencies ...", flush=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".{extras}")
    stamp.write_text(digest)


def flask(*args: str) -> None:
    run(BIN / "flask", "--app", "servicedesk", *args)


def start(args: argparse.Namespace) -> None:
    ensure_venv()
    flask("db", "upgrade")
    flask("seed-demo")
    logins = instance_path() / "demo-logins.txt"
    print(f"\nThe desk is at http://{args.host}:{args.port}/")
    if logins.exists():
        print("Demo logins (user name, password, who):")
        print(logins.read_text(encoding="utf-8"))
    print("Stop it with Ctrl+C.", flush=True)
    os.execv(str(BIN / "waitress-serve"), [  # noqa: S606
        "waitress-serve", f"--host={args.host}", f"--port={args.port}", "--threads=8",
        "--call", "servicedesk:create_app",
    ])


def instance_path() -> Path:
    configured = os.environ.get("SERVICEDESK_INSTANCE_PATH")
    return Path(configured) if configured else ROOT / "instance"


def test(args: argparse.Namespace) -> None:
    ensure_venv("[test]")
    run(BIN / "ruff", "check", "servicedesk", "tests", "dev.py")
    run(PYTHON, "-m", "pytest", *args.pytest_args)


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this script runs on whatever python3 is)
        sys.exit("The desk needs Python 3.11 or newer.")
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="set up and run the desk with demo data")
    start_parser.add_argument("--host", default="127.0.0.1")
    start_parser.add_argument("--port", type=int, default=5000)
    start_parser.set_defaults(handler=start)
    test_parser = commands.add_parser("test", help="set up and run the whole test suite")
    test_parser.set_defaults(handler=test)
    args, pytest_args = parser.parse_known_args()
    if pytest_args and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(pytest_args)}")
    args.pytest_args = pytest_args  # anything else goes to pytest, e.g. -q -k login
    args.handler(args)


if __name__ == "__main__":
    main()
