"""Handing a conversation to a human: the state machine, routing and the ticket service."""
