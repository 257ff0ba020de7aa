import sys

from medassist.cli.main import main

sys.exit(main(["bench", *sys.argv[1:]]))
