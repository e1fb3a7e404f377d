"""Azure regions where Azure Machine Learning is offered, with the short codes used in resource names.

The short codes follow the common CAF practice of abbreviating the region in names (``weu`` for West Europe). The list
is data, not logic: a platform team that needs another region adds one line here (and a test row picks it up).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Azure ML regions (ARM ``location`` names) mapped to the short code used in resource names.
REGION_CODES: Mapping[str, str] = MappingProxyType(
    {
        "australiacentral": "auc",
        "australiaeast": "aue",
        "australiasoutheast": "ause",
        "brazilsouth": "brs",
        "canadacentral": "cac",
        "canadaeast": "cae",
        "centralindia": "inc",
        "centralus": "cus",
        "eastasia": "ea",
        "eastus": "eus",
        "eastus2": "eus2",
        "francecentral": "frc",
        "germanywestcentral": "gwc",
        "israelcentral": "ilc",
        "italynorth": "itn",
        "japaneast": "jpe",
        "japanwest": "jpw",
        "koreacentral": "krc",
        "koreasouth": "krs",
        "northcentralus": "ncus",
        "northeurope": "neu",
        "norwayeast": "noe",
        "polandcentral": "plc",
        "qatarcentral": "qac",
        "southafricanorth": "san",
        "southcentralus": "scus",
        "southeastasia": "sea",
        "southindia": "ins",
        "spaincentral": "spc",
        "swedencentral": "sdc",
        "switzerlandnorth": "szn",
        "uaenorth": "uan",
        "uksouth": "uks",
        "ukwest": "ukw",
        "westcentralus": "wcus",
        "westeurope": "weu",
        "westus": "wus",
        "westus2": "wus2",
        "westus3": "wus3",
    }
)


def region_code(region: str) -> str:
    """Return the short code for ``region``; raises ``KeyError`` for a region that is not supported."""
    return REGION_CODES[region]
