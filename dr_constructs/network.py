from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from dr_constructs.deploy_time_lookup import DeployTimeLookup
from dr_constructs.lifecycle import RETAINED
from dr_core.config import Egress

DATABASE_PORT = 5432

# Interface endpoints the private functions call: SSM (parameters) and Secrets
# Manager (database credentials and their rotation).
_INTERFACE_SERVICES = {
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
}


class RegionalNetwork(Construct):
    """A VPC over every configured AZ with explicit security groups.

    Functions sit in private subnets and may open only HTTPS to AWS APIs (the
    interface endpoints' group and the DynamoDB and S3 gateway prefix lists).
    The database group starts closed; a database opens its port to the
    functions' group (see ``OrdersDatabase``), so a region without one has no
    database path at all. With ``Egress.ENDPOINTS`` the private subnets have no
    route to the internet at all.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cidr: str,
        egress: Egress,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        self._key, self._log_retention = key, log_retention
        stack = cdk.Stack.of(self)
        zones = stack.availability_zones
        if len(zones) < 2:
            raise ValueError("RegionalNetwork needs at least two availability zones")
        function_subnets = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS if egress is Egress.NAT else ec2.SubnetType.PRIVATE_ISOLATED
        )
        isolated, public = ec2.SubnetType.PRIVATE_ISOLATED, ec2.SubnetType.PUBLIC
        subnets = [
            ec2.SubnetConfiguration(name="functions", subnet_type=function_subnets, cidr_mask=22),
            ec2.SubnetConfiguration(name="database", subnet_type=isolated, cidr_mask=24),
        ]
        if egress is Egress.NAT:
            subnets.append(ec2.SubnetConfiguration(name="public", subnet_type=public, cidr_mask=24))
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=zones,
            subnet_configuration=subnets,
            nat_gateways=len(zones) if egress is Egress.NAT else 0,
            restrict_default_security_group=True,
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        logs.LogGroup(
                            self,
                            "FlowLogs",
                            encryption_key=key,
                            retention=log_retention,
                            removal_policy=RETAINED,
                        )
                    ),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        Validations.of(self.vpc).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason="The zones come from the availabilityZones context on purpose: synth makes no "
                "AWS call to look them up, and preflight checks they exist in the account.",
            )
        )
        self.function_subnets = ec2.SubnetSelection(subnet_group_name="functions")
        self.database_subnets = ec2.SubnetSelection(subnet_group_name="database")

        self.functions_security_group = ec2.SecurityGroup(
            self,
            "FunctionsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Order-processing functions: HTTPS to AWS APIs and the database port only",
        )
        self.database_security_group = ec2.SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Orders database: reachable from the functions group only",
        )
        endpoints_security_group = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Interface endpoints: HTTPS from the functions group only",
        )
        endpoints_security_group.add_ingress_rule(
            self.functions_security_group, ec2.Port.tcp(443), "HTTPS from functions"
        )
        self.functions_security_group.add_egress_rule(
            endpoints_security_group, ec2.Port.tcp(443), "HTTPS to interface endpoints"
        )
        self.interface_endpoints = {
            name: self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.function_subnets,
                security_groups=[endpoints_security_group],
                private_dns_enabled=True,
                # Not open to the whole VPC CIDR: only the functions' group gets in.
                open=False,
            )
            for name, service in _INTERFACE_SERVICES.items()
        }
        for service in ("dynamodb", "s3"):
            self.functions_security_group.add_egress_rule(
                ec2.Peer.prefix_list(self._gateway_prefix_list(service)),
                ec2.Port.tcp(443),
                f"HTTPS to {service} through its gateway endpoint",
            )

    def _gateway_prefix_list(self, service: str) -> str:
        """The AWS-managed prefix list of a gateway-endpoint service, read at deploy time:
        its ID differs per region, and a synth-time lookup would need credentials."""
        region = cdk.Stack.of(self).region
        lookup = DeployTimeLookup(
            self,
            f"{service.capitalize()}PrefixList",
            service="EC2",
            action="describeManagedPrefixLists",
            parameters={
                "Filters": [{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{region}.{service}"]}]
            },
            output_path="PrefixLists.0.PrefixListId",
            permissions=[iam.PolicyStatement(actions=["ec2:DescribeManagedPrefixLists"], resources=["*"])],
            log_key=self._key,
            log_retention=self._log_retention,
        )
        lookup.acknowledge_unscoped(
            "ec2:DescribeManagedPrefixLists supports no resource-level permissions; the call is "
            "read-only and returns the public AWS-managed prefix list ID."
        )
        return lookup.value
