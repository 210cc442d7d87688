"""The Azure Blob connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.azure import CONNECTION_STRING_PARAM

AZURE_BLOB_SPEC_ID = "4c10e202-c428-4796-9208-5f1f5732b1cf"

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
            params=(CONNECTION_STRING_PARAM,),
        ),
        AuthSpec(
            name="SAS URI Authentication",
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
            ),
        ),
    ),
)
