"""``python -m asxh_pay`` is the ``asxh-pay`` command."""

import sys

from asxh_pay.cli import main

sys.exit(main())
