"""Throughput and reply latency of the gateway (Telegram webhooks in, Bot API sends out) against stock
Rasa's REST channel, on the same model and action server: `python -m bench.gateway`."""
