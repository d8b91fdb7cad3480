"""A real server process with a deterministic echo model (no torch model needed).

    python tests/messenger/echo_server.py STATE_DIR PORT [GENERATE_DELAY_S [CLAIM_TIMEOUT_S]]

Secrets, the Graph API URL and the store (``BOTFRAMEWORK_STORE``) come from the environment, as
for ``botframework serve``.
"""

from __future__ import annotations

import sys
import time

from botframework.config.schema import ChannelConfig
from botframework.decoding.candidate import Candidate
from botframework.messenger import ServedBot, ServerSettings
from botframework.cli.serve import run_server
from botframework.plugins import build_plugin_manager


def main() -> None:
    state_dir, port = sys.argv[1], int(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    claim_timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0

    def generate(dialogues: list[list[str]]) -> list[list[Candidate]]:
        time.sleep(delay)
        return [[Candidate([], -1.0, {}, f"echo: {d[-1]}")] for d in dialogues]

    manager = build_plugin_manager(entry_points=False)
    channel = ChannelConfig(retry_base_delay_s=0.05, retry_max_delay_s=0.2, send_timeout_s=30)
    bot = ServedBot("echo", manager.hook, generate, channel)
    settings = ServerSettings.from_env(state_dir, shutdown_grace=2.0, claim_timeout=claim_timeout)
    run_server([bot], settings, "127.0.0.1", port, None, 2.0)


if __name__ == "__main__":
    main()
