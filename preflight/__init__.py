"""Offline preflight: the pull-request gate. Evaluate a stack's Pulumi program under mocks, check it against every
policy pack through the analyzer protocol, and report; no Pulumi CLI, provider plugin or cloud account.

``python -m preflight <stack>`` (docs/preflight.md). Modules: ``stack_config`` (read config as the CLI does),
``mocks`` (provider stand-in and recording monitor), ``program`` (evaluate, fast runner), ``analysis`` (run the packs
in parallel), ``report`` (the result as data, JSON, baseline comparison), ``render`` (terminal, Markdown, SARIF,
JUnit), ``run`` (one run end to end), ``greenfield_check`` (is ``greenfield`` safe for a deployed stack),
``bench`` (benchmark at platform scale), ``__main__`` (command line).
"""
