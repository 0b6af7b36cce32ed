"""gzip compression codec."""
