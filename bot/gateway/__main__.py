"""`python -m bot.gateway`: the gateway alone, configured from the environment."""

from __future__ import annotations

import logging

from bot.gateway.app import serve

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
serve()
