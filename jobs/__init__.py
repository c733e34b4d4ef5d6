"""The job queue: pending jobs, blocked datasets, and the repair operations."""
