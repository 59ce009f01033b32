import sys

from codey.cli import main

sys.exit(main())
