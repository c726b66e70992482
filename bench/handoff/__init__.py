"""Handoff latency benchmark: escalation to an open console, and a counsellor's reply to the channel."""
