"""Development only: the demo world, the embedded MongoDB-protocol server and the seed_demo command."""
