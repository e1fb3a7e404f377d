"""Load testing and the autoscale proof: ``python -m loadtest {run,capacity,config,autoscale}`` (docs/load-testing.md).

The tools read what the program registers and the stack's typed configuration; the load generator (Locust) and the
inference server run in their own virtualenv (``.venv-loadtest``), as subprocesses, never in this process.
"""
