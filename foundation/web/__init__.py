"""HTTP plumbing of every route: JSON API base, renderer, the one error answer, console pages, tags, middleware."""
