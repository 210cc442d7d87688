"""The ADLS Gen2 connection spec: Flow Service's service-principal auth, plus account-key and
connection-string variants (also what the Azurite emulator accepts)."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.azure import CONNECTION_STRING_PARAM

ADLS_SPEC_ID = "b3ba5556-48be-44b7-8b85-ff2b69b46dc4"

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
            ),
        ),
        AuthSpec(
            name="Account Key Authentication for adls-gen2",
            type="Account Key",
            description="The storage account's access key.",
            params=(
                URL,
                Param(
                    "accountKey", "Account key", "Storage account key.", required=True, secret=True
                ),
            ),
        ),
        AuthSpec(
            name="Connection String Authentication for adls-gen2",
            type="ConnectionString",
            description="A storage account connection string.",
            params=(CONNECTION_STRING_PARAM,),
        ),
    ),
)
