"""The Amazon S3 connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.object_store import MAX_READS_PARAM
from lakefeed.storage.s3_protocol import BUCKET_PARAM, FOLDER_PARAM

S3_SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"

ACCESS_KEY = "Access Key"
DEFAULT_CHAIN = "Default Credential Chain"
#: Flow Service's name for role-based access (AEP on AWS).
IAM_ROLE = "IAMRole Based"

SERVICE_URL = Param(
    "serviceUrl",
    "Endpoint URL",
    "Custom endpoint, e.g. https://s3.eu-west-1.amazonaws.com or a MinIO URL.",
)
REGION = Param("region", "Region", "Signing region, when the endpoint needs one.")
#: AWS's own S3 and STS hosts (all partitions): the only ones ``lakefeed serve`` sends
#: requests signed with the server's identity to, unless its operator lists another. Patterns
#: are anchored on the service's label so that no customer-named host under amazonaws.com
#: (load balancers, API gateways, instances) matches.
AWS_HOSTS = tuple(
    pattern + suffix
    for suffix in ("amazonaws.com", "amazonaws.com.cn")
    for pattern in (
        "s3.",  # the global endpoint
        "*.s3.",  # BUCKET.s3
        "s3.*.",  # s3.REGION
        "*.s3.*.",  # BUCKET.s3.REGION
        "s3-*.",  # s3-REGION, s3-external-1 (legacy)
        "*.s3-*.",
        "s3-*.*.",  # s3-fips.REGION
        "*.s3-*.*.",  # BUCKET.s3-fips.REGION, ACCESS-POINT.s3-accesspoint.REGION
        "s3.dualstack.*.",
        "*.s3.dualstack.*.",
        "sts.",
        "sts.*.",
        "sts-fips.*.",
    )
)
#: Why an ambient auth spec is refused over REST unless the server's operator allows it.
SERVER_ONLY = "Over REST only where the server sets LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1."

SPEC = ConnectionSpec(
    id=S3_SPEC_ID,
    name="amazon-s3",
    label="Amazon S3",
    description="Objects in Amazon S3 or any S3-compatible store (MinIO, Ceph RGW, R2).",
    path_root="bucket",
    documentation_link="docs/reference/plugins.md#amazon-s3",
    auth_specs=(
        AuthSpec(
            name=ACCESS_KEY,
            type="Access Key Auth",
            description="An access key pair, optionally with an STS session token.",
            params=(
                Param(
                    "s3AccessKey",
                    "Access key id",
                    "Access key id of an IAM identity.",
                    required=True,
                ),
                Param(
                    "s3SecretKey",
                    "Secret access key",
                    "Secret access key of that identity.",
                    required=True,
                    secret=True,
                ),
                Param(
                    "s3SessionToken",
                    "Session token",
                    "Temporary STS session token; update it when it expires.",
                    secret=True,
                ),
                SERVICE_URL,
                REGION,
                BUCKET_PARAM,
                FOLDER_PARAM,
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=DEFAULT_CHAIN,
            type="Ambient Credentials",
            description="The AWS default credential chain of the machine lakefeed runs on "
            "(environment variables, shared credentials and config files, container or "
            f"instance role). {SERVER_ONLY}",
            params=(SERVICE_URL, REGION, BUCKET_PARAM, FOLDER_PARAM, MAX_READS_PARAM),
            ambient=True,
            vendor_hosts=AWS_HOSTS,
        ),
        AuthSpec(
            name=IAM_ROLE,
            type="IAM Role",
            description="An IAM role, assumed through STS with the credentials of the AWS "
            f"default credential chain of the machine lakefeed runs on. {SERVER_ONLY}",
            params=(
                Param(
                    "roleArn",
                    "Role ARN",
                    "ARN of the role to assume, arn:aws:iam::ACCOUNT:role/NAME.",
                    required=True,
                ),
                Param(
                    "externalId",
                    "External id",
                    "External id the role's trust policy requires (sts:ExternalId), if any.",
                ),
                Param(
                    "stsEndpoint",
                    "STS endpoint URL",
                    "Custom STS endpoint; default: AWS STS of the region (global without one).",
                ),
                SERVICE_URL,
                REGION,
                BUCKET_PARAM,
                FOLDER_PARAM,
                MAX_READS_PARAM,
            ),
            ambient=True,
            vendor_hosts=AWS_HOSTS,
        ),
    ),
)
