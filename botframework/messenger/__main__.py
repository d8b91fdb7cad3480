import sys

from botframework.messenger.command import main

sys.exit(main())
