"""`python -m zimage_site …` (also what `accelerate launch -m zimage_site generate …` runs)."""

import sys

from zimage_site.cli import main

sys.exit(main())
