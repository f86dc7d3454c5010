"""Make sure the system programs and images a test session needs are there.

`python -m tests.support.testenv postgres chromium` installs what is missing (root on Debian) or
names what to install. The Nox sessions call it so a fresh machine needs no other setup. Base
images are not prepared here: the product's own deploy path finds, pulls or builds them.
"""

from __future__ import annotations

import sys

from todo_deploy.base.debian import MissingPackages, ensure_packages
from todo_deploy.base.run import Runner

NEEDS: dict[str, dict[str, str]] = {
    # Tests start throwaway PostgreSQL servers with Debian's initdb/pg_ctl.
    "postgres": {"/usr/lib/postgresql/*/bin/initdb": "postgresql"},
    # Playwright drives Debian's Chromium: it cannot download browsers here.
    "chromium": {"chromium": "chromium", "fc-list": "fonts-dejavu-core"},
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in NEEDS]
    if unknown:
        print(f"unknown test needs {unknown}: choose from {sorted(NEEDS)}", file=sys.stderr)
        return 2
    runner = Runner()
    for name in argv:
        try:
            installed = ensure_packages(runner, NEEDS[name])
        except MissingPackages as error:
            print(f"{name}: {error}", file=sys.stderr)
            return 1
        print(f"{name}: {'installed ' + ' '.join(installed) if installed else 'present'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
