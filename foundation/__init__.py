"""The shared plumbing under every app: configuration and domain basics (`core`), MongoDB (`database`),
the Hub (`hub`), HTTP (`web`) and who may use the console (`auth`)."""
