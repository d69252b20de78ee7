"""pumpctl: host tooling for the programmable intrathecal baclofen pump (docs/protocol.md)."""
__version__ = "0.1.0"
