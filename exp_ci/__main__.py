from __future__ import annotations

import sys

from exp_ci.cli import main

sys.exit(main())
