"""Pulumi components of the ML platform: Workspace, ComputeCluster, ComputeInstance and the Platform that composes them.

Each module holds one component with its frozen args dataclass; ``config`` holds the typed stack configuration and
``naming`` the Azure name rules.
"""
