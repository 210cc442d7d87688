"""The ADLS Gen2 connection spec: Flow Service's service-principal auth, plus account-key and
connection-string variants (also what the Azurite emulator accepts) and the machine's own
identity (DefaultAzureCredential)."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.azure import AZURE_BLOB_HOSTS, AZURE_DFS_HOSTS, CONNECTION_STRING_PARAM
from lakefeed.storage.object_store import MAX_READS_PARAM

ADLS_SPEC_ID = "b3ba5556-48be-44b7-8b85-ff2b69b46dc4"
ACCOUNT_KEY = "Account Key Authentication for adls-gen2"
CONNECTION_STRING = "Connection String Authentication for adls-gen2"
DEFAULT_CREDENTIAL = "Default Azure Credential for adls-gen2"

URL = Param(
    "url",
    "Account URL",
    "https://ACCOUNT.dfs.core.windows.net (an emulator: http://127.0.0.1:10000/ACCOUNT).",
    required=True,
)

SPEC = ConnectionSpec(
    id=ADLS_SPEC_ID,
    name="adls-gen2",
    label="Azure Data Lake Storage Gen2",
    description="Files in an ADLS Gen2 account (abfs:// and abfss:// paths); paths start with "
    "the file system (container).",
    path_root="file system",
    documentation_link="docs/reference/plugins.md#azure-data-lake-storage-gen2",
    auth_specs=(
        AuthSpec(
            name="Basic Authentication for adls-gen2",
            type="Basic Authentication",
            description="A Microsoft Entra service principal with a client secret.",
            params=(
                URL,
                Param("servicePrincipalId", "Client id", "Application (client) id.", required=True),
                Param(
                    "servicePrincipalKey",
                    "Client secret",
                    "Client secret of the application.",
                    required=True,
                    secret=True,
                ),
                Param("tenant", "Tenant", "Tenant id or domain.", required=True),
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=ACCOUNT_KEY,
            type="Account Key",
            description="The storage account's access key.",
            params=(
                URL,
                Param(
                    "accountKey", "Account key", "Storage account key.", required=True, secret=True
                ),
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=CONNECTION_STRING,
            type="ConnectionString",
            description="A storage account connection string.",
            params=(CONNECTION_STRING_PARAM, MAX_READS_PARAM),
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
                    "url",
                    "Account URL",
                    "https://ACCOUNT.dfs.core.windows.net (https: tokens need TLS).",
                    required=True,
                ),
                MAX_READS_PARAM,
            ),
            ambient=True,
            vendor_hosts=AZURE_DFS_HOSTS + AZURE_BLOB_HOSTS,
        ),
    ),
)
