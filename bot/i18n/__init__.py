"""Language helpers shared by the assistant and the gateway: scripts, bidi isolation, texts."""
