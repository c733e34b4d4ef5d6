"""Helpers shared by the tests: the fake Hub whoami, write helpers, page worlds, the read routes."""
