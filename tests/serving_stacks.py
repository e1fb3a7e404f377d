"""What the serving tests (test_serving, test_autoscale, test_apm) share: the served team of the committed stacks,
its ``score`` endpoint exactly as the stack file writes it, and the metric namespaces (the ``stack`` fixture, dev
and prod, is in conftest.py)."""

from __future__ import annotations

import functools
from typing import Any

from conftest import PROJECT, stack_values

TEAM = "fraud-detection"
ENDPOINT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"


@functools.cache
def configured(stack: str) -> dict[str, Any]:
    """The ``score`` endpoint of fraud-detection and the team's e-mails, exactly as the stack file writes them."""
    [team] = [t for t in stack_values(stack)[f"{PROJECT}:teams"] if t["name"] == TEAM]
    [endpoint] = [e for e in team["endpoints"] if e["name"] == "score"]
    return {**endpoint, "alert_emails": team["alert_emails"]}
