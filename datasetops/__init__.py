"""What spans one dataset across the cache, the queue and the Hub: status, page, force-refresh, recreate."""
