"""`python -m kubenas` is the `kubenas` command."""

import sys

from kubenas.cli import main

sys.exit(main())
