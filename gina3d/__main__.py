import sys

from gina3d.cli.main import main

sys.exit(main())
