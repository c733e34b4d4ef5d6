"""The audit log: every write made through the console (API, page or command), recorded before it
writes, with its page and API."""
