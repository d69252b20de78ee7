"""Talking to one pump: ports, the framed client, keys and the authenticated session."""
