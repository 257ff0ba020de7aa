"""Entry point of the frozen MedAssist app (PyInstaller).

Started without arguments (a double-click) or with window options (``--demo``) it opens the window; with a
subcommand (``self-test``, ``models list``, ...) it is the ``medassist`` command line.
"""

import multiprocessing
import sys

GUI_OPTIONS = ("--demo", "--quit-after")


def main() -> int:
    multiprocessing.freeze_support()
    arguments = sys.argv[1:]
    if not arguments or arguments[0] in GUI_OPTIONS:
        from medassist.ui.launch import main as gui_main

        return gui_main(arguments)
    from medassist.cli.main import main as cli_main

    return cli_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
