"""Offline preflight: evaluate a stack's Pulumi program under mocks and show what ``pulumi up`` would create.

``python -m preflight <stack>`` reads ``Pulumi.<stack>.yaml`` as the CLI would, runs ``__main__.py`` with the real
Pulumi SDK against the project's mocks (no CLI, plugin or cloud account) and prints the plan as a component tree with
counts. Modules: ``stack_config`` (read config), ``mocks`` (provider stand-in and recording monitor), ``program``
(evaluate), ``plan`` (tree and counts), ``__main__`` (command line).
"""
