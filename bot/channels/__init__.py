"""One module per channel; each only translates between the channel's payloads and ours."""
