"""Azure Monitor names of the managed online endpoint metrics and logs that autoscale, alerts and the workbook read.

Names and namespaces exactly as Azure Monitor lists them (learn.microsoft.com/azure/azure-monitor/reference/
supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics and
...-onlineendpoints-deployments-metrics; learn.microsoft.com/azure/machine-learning/how-to-monitor-online-endpoints).
"""

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"

#: Endpoint metrics: p95 latency of requests (ms) and request count, split by ``deployment`` and ``statusCode``.
LATENCY_METRIC = "RequestLatency_P95"
REQUESTS_METRIC = "RequestsPerMinute"
DEPLOYMENT_DIMENSION = "deployment"
STATUS_DIMENSION = "statusCode"

#: Deployment metrics: utilization in percent, and the instance count.
CPU_METRIC = "CpuUtilizationPercentage"
MEMORY_METRIC = "CpuMemoryUtilizationPercentage"
DISK_METRIC = "DiskUtilization"
CAPACITY_METRIC = "DeploymentCapacity"

#: Endpoint log categories: the scoring container's console output, container events (start, probe failures, out of
#: memory) and one record per request (table ``AmlOnlineEndpointTrafficLog``: EndpointName, DeploymentName,
#: ResponseCode, TotalDurationMs; learn.microsoft.com/azure/azure-monitor/reference/tables/amlonlineendpointtrafficlog).
LOG_CATEGORIES = ("AmlOnlineEndpointConsoleLog", "AmlOnlineEndpointEventLog", "AmlOnlineEndpointTrafficLog")
TRAFFIC_TABLE = "AmlOnlineEndpointTrafficLog"
