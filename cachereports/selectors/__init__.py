"""Reads of the cache database, one module per concern; every query of the cachereports app is built in them.

Each function costs a constant number of database commands: one query or one aggregation,
whatever the number of processing steps or cache entries. Callers import the module of the
concern (`from cachereports.selectors import error_groups`), so a read says where it lives.
"""
