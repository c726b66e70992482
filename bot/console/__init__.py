"""The counsellor and supervisor console: a JSON API and the web page that uses it."""
