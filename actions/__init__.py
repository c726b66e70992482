"""The action server: thin actions that read slots, call service_directory and send named responses."""
