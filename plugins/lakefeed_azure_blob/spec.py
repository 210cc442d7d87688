"""The Azure Blob connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.azure import AZURE_BLOB_HOSTS, CONNECTION_STRING_PARAM
from lakefeed.storage.object_store import MAX_READS_PARAM

AZURE_BLOB_SPEC_ID = "4c10e202-c428-4796-9208-5f1f5732b1cf"
SAS_URI = "SAS URI Authentication"
DEFAULT_CREDENTIAL = "Default Azure Credential"

SPEC = ConnectionSpec(
    id=AZURE_BLOB_SPEC_ID,
    name="azure-blob",
    label="Azure Blob Storage",
    description="Blobs in an Azure Storage account; paths start with the container.",
    path_root="container",
    documentation_link="docs/reference/plugins.md#azure-blob-storage",
    auth_specs=(
        AuthSpec(
            name="ConnectionString",
            type="ConnectionString",
            description="An account connection string (AccountName, AccountKey, endpoints).",
            params=(CONNECTION_STRING_PARAM, MAX_READS_PARAM),
        ),
        AuthSpec(
            name=SAS_URI,
            type="SAS URI Authentication",
            description="A shared access signature URI for the account or one container.",
            params=(
                Param(
                    "sasUri",
                    "SAS URI",
                    "https://ACCOUNT.blob.core.windows.net/[CONTAINER]?sv=...&sig=...",
                    required=True,
                    secret=True,
                ),
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=DEFAULT_CREDENTIAL,
            type="Ambient Credentials",
            description="azure-identity's DefaultAzureCredential on the machine lakefeed runs "
            "on: a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and "
            "AZURE_CLIENT_SECRET, workload identity or managed identity. Over REST only where "
            "the server sets LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1.",
            params=(
                Param(
                    "serviceEndpoint",
                    "Blob service endpoint",
                    "https://ACCOUNT.blob.core.windows.net",
                    required=True,
                ),
                MAX_READS_PARAM,
            ),
            ambient=True,
            vendor_hosts=AZURE_BLOB_HOSTS,
        ),
    ),
)
