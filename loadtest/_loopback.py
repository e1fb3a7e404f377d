"""Start Azure ML's inference server (``azmlinfsrv``) bound to 127.0.0.1 only. Runs in the load-test virtualenv.

azureml-inference-server-http 1.5.1 always binds ``0.0.0.0`` (``amlserver.DEFAULT_HOST``, no option for it); the
load test must not expose the model on the machine's network, so the constant is set before the server's own
entry point runs with the command line it was given (``--entry_script``, ``--model_dir``, ``--port``, ...).
"""

import azureml_inference_server_http.amlserver as amlserver

amlserver.DEFAULT_HOST = "127.0.0.1"
amlserver.run()
