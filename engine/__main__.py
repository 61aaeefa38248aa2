import sys

from engine.cli import main
from engine.crashes import exit_now

code = main()
exit_now(code)  # only returns when no thread was left running
sys.exit(code)
