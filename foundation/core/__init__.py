"""Domain plumbing every part uses: configuration, errors, the processing graph, names, parameters, command base."""
