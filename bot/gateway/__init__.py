"""The gateway: owns every conversation, talks to channels, Rasa and counsellors."""
