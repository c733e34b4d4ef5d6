"""The demo's stand-in worker fleet: jobs picked, run for seconds, and finished as the workers do.

Not the dataset viewer's workers: `make run` starts it on the embedded engine only, beside the
stand-in Hub, so that the demo's queue drains and its cache moves. `settings` (sizes and rates,
no Django), `worker` (one worker's loop, a step at a time), `computation` (what a job
writes), `children` (what it queues next), `runner` (the threads), `process` (the process
`scripts/run.py` starts). Every write goes through the apps' services: the same rules as the
console's own writes.
"""
