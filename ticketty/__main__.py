"""``python -m ticketty``: the same as the ``ticketty`` console script."""

from __future__ import annotations

import sys

from ticketty.main import main

sys.exit(main())
