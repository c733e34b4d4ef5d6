"""Operations across many datasets at once (bulk refresh of the cache entries a filter matches)."""
