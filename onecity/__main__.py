import sys

from onecity.cli import main

sys.exit(main())
