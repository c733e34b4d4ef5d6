"""The cache of precomputed responses: reports, dataset status, builder counts."""
