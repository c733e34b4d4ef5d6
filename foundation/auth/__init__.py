"""Who may use the console: the Hub whoami check, DRF authentication, browser sessions, login views."""
