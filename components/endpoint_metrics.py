"""Azure Monitor names of the managed online endpoint metrics and logs that autoscale, alerts and the workbook read.

Names and namespaces exactly as Azure Monitor lists them (learn.microsoft.com/azure/azure-monitor/reference/
supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics and
...-onlineendpoints-deployments-metrics; learn.microsoft.com/azure/machine-learning/how-to-monitor-online-endpoints).
"""

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"

#: p95 latency of requests (ms): on the endpoint (dimension ``deployment``) and on each deployment (no dimension).
LATENCY_METRIC = "RequestLatency_P95"
DEPLOYMENT_DIMENSION = "deployment"
#: Endpoint request count, with the dimension ``statusCode`` (429: throttled).
REQUESTS_METRIC = "RequestsPerMinute"
STATUS_DIMENSION = "statusCode"

#: Deployment metrics: utilization in percent (dimension ``instanceId``).
CPU_METRIC = "CpuUtilizationPercentage"
MEMORY_METRIC = "CpuMemoryUtilizationPercentage"
DISK_METRIC = "DiskUtilization"

#: The instance count, as the deployment's autoscale setting observed it ("Observed Capacity: The capacity reported
#: to autoscale when it executed", no dimension; learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/
#: microsoft-insights-autoscalesettings-metrics). The deployment's own ``DeploymentCapacity`` has ``instanceId``
#: and ``State`` dimensions whose values Microsoft does not document, so it is not used.
AUTOSCALE_NAMESPACE = "microsoft.insights/autoscalesettings"
CAPACITY_METRIC = "ObservedCapacity"

#: One record per scoring request (learn.microsoft.com/azure/azure-monitor/reference/tables/
#: amlonlineendpointtrafficlog: EndpointName, DeploymentName, ResponseCode, TotalDurationMs). The endpoint's diagnostic
#: setting sends it with the console and event logs (category group allLogs).
TRAFFIC_TABLE = "AmlOnlineEndpointTrafficLog"
