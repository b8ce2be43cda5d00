"""EC2 vCPU quotas in the sandbox's Service Quotas, which moto 5.2 serves for VPC only.

moto returns NoSuchResourceException from GetServiceQuota for service code ec2, so without
this the quota preflight could not run against the sandbox. The values describe an account
whose quotas were raised for GPU work: the example environments fit with room to spare, and
two g5.48xlarge fill the G and VT quota exactly.
"""

from __future__ import annotations

from typing import Any

from envctl.quotas import (
    G_AND_VT_INSTANCES,
    P_INSTANCES,
    STANDARD_INSTANCES,
    VCPU_QUOTAS,
)

SERVICE_NAME = "Amazon Elastic Compute Cloud (Amazon EC2)"
# NOTE: chosen for the sandbox, not AWS's defaults: a new account gets 5 standard vCPUs and
# often 0 for G and VT, which would block every example.
SANDBOX_VCPUS = {STANDARD_INSTANCES.code: 640.0, G_AND_VT_INSTANCES.code: 384.0,
                 P_INSTANCES.code: 384.0}
OTHER_VCPUS = 128.0


def ec2_quotas(region: str) -> list[dict[str, Any]]:
    """The EC2 vCPU quotas as GetServiceQuota returns them."""
    return [
        {
            "Adjustable": True,
            "GlobalQuota": False,
            "QuotaArn": f"arn:aws:servicequotas:{region}::ec2/{quota.code}",
            "QuotaCode": quota.code,
            "QuotaName": quota.name,
            "ServiceCode": "ec2",
            "ServiceName": SERVICE_NAME,
            "Unit": "None",
            "Value": SANDBOX_VCPUS.get(quota.code, OTHER_VCPUS),
        }
        for quota in VCPU_QUOTAS
    ]


def serve_ec2_quotas() -> None:
    """Teach moto's Service Quotas backend the EC2 vCPU quotas, in this process only."""
    from moto.servicequotas.models import ServiceQuotasBackend

    get_quota = ServiceQuotasBackend.get_service_quota
    list_defaults = ServiceQuotasBackend.list_aws_default_service_quotas

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "ec2":
            for quota in ec2_quotas(self.region_name):
                if quota["QuotaCode"] == quota_code:
                    return quota
        return dict(get_quota(self, service_code, quota_code))

    def list_aws_default_service_quotas(self: Any, service_code: str) -> list[dict[str, Any]]:
        if service_code == "ec2":
            return ec2_quotas(self.region_name)
        return list(list_defaults(self, service_code))

    ServiceQuotasBackend.get_service_quota = get_service_quota  # type: ignore[method-assign]
    ServiceQuotasBackend.list_aws_default_service_quotas = (  # type: ignore[method-assign]
        list_aws_default_service_quotas)
