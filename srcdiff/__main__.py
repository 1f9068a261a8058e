"""``python -m srcdiff``: the srcdiff command."""

import sys

from .cli import main

sys.exit(main())
