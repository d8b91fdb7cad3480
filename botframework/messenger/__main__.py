import sys

from botframework.cli.serve import main

sys.exit(main())
