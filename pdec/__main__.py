"""``python -m pdec``: the command line (pdec.cli)."""

import sys

from pdec.cli import main

sys.exit(main())
