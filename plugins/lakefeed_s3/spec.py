"""The Amazon S3 connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.s3_protocol import BUCKET_PARAM, FOLDER_PARAM

S3_SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"

SPEC = ConnectionSpec(
    id=S3_SPEC_ID,
    name="amazon-s3",
    label="Amazon S3",
    description="Objects in Amazon S3 or any S3-compatible store (MinIO, Ceph RGW, R2).",
    path_root="bucket",
    documentation_link="docs/reference/plugins.md#amazon-s3",
    auth_specs=(
        AuthSpec(
            name="Access Key",
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
                Param(
                    "serviceUrl",
                    "Endpoint URL",
                    "Custom endpoint, e.g. https://s3.eu-west-1.amazonaws.com or a MinIO URL.",
                ),
                Param("region", "Region", "Signing region, when the endpoint needs one."),
                BUCKET_PARAM,
                FOLDER_PARAM,
            ),
        ),
    ),
)
