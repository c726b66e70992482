"""Putokaz application: the gateway, channels, handoff, console, NLU components and command line."""
