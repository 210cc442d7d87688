"""The Google Cloud Storage connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param
from lakefeed.storage.object_store import MAX_READS_PARAM
from lakefeed.storage.s3_protocol import BUCKET_PARAM, FOLDER_PARAM

GCS_SPEC_ID = "32e8f412-cdf7-464c-9885-78184cb113fd"
GOOGLE_XML_API = "https://storage.googleapis.com"

HMAC = "Basic Authentication for google-cloud"
SERVICE_ACCOUNT = "Service Account Authentication for google-cloud"
ANONYMOUS = "Anonymous Access for google-cloud"
APPLICATION_DEFAULT = "Application Default Credentials for google-cloud"
#: Google's own Cloud Storage hosts: the only ones ``lakefeed serve`` sends the server's
#: application default credentials (a bearer token) to, unless its operator lists another.
GOOGLE_STORAGE_HOSTS = ("storage.googleapis.com", "*.storage.googleapis.com")


def _endpoint(default: str | None, what: str) -> Param:
    return Param("serviceUrl", "Endpoint URL", f"Override of the {what} endpoint.", default=default)


SPEC = ConnectionSpec(
    id=GCS_SPEC_ID,
    name="google-cloud",
    label="Google Cloud Storage",
    description="Objects in Google Cloud Storage buckets.",
    path_root="bucket",
    documentation_link="docs/reference/plugins.md#google-cloud-storage",
    auth_specs=(
        AuthSpec(
            name=HMAC,
            type="Basic Authentication",
            description="An HMAC key, served through GCS's S3-compatible XML API.",
            params=(
                Param("accessKeyId", "HMAC access id", "Access id of an HMAC key.", required=True),
                Param(
                    "secretAccessKey",
                    "HMAC secret",
                    "Secret of that HMAC key.",
                    required=True,
                    secret=True,
                ),
                BUCKET_PARAM,
                FOLDER_PARAM,
                _endpoint(GOOGLE_XML_API, "XML (S3-compatible) API"),
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=SERVICE_ACCOUNT,
            type="Service Account",
            description="A service account JSON key, through the GCS JSON API.",
            params=(
                Param(
                    "serviceAccountKey",
                    "Service account key",
                    "The JSON key file's content.",
                    required=True,
                    secret=True,
                ),
                Param("projectId", "Project", "Project id (defaults to the key's project)."),
                BUCKET_PARAM,
                FOLDER_PARAM,
                _endpoint(None, "JSON API"),
                MAX_READS_PARAM,
            ),
        ),
        AuthSpec(
            name=ANONYMOUS,
            type="Anonymous",
            description="No credentials: public buckets, or a local emulator.",
            params=(BUCKET_PARAM, FOLDER_PARAM, _endpoint(None, "JSON API"), MAX_READS_PARAM),
        ),
        AuthSpec(
            name=APPLICATION_DEFAULT,
            type="Ambient Credentials",
            description="Google's application default credentials on the machine lakefeed runs "
            "on (GOOGLE_APPLICATION_CREDENTIALS, the gcloud login, the metadata server's "
            "service account), through the GCS JSON API. Over REST only where the server sets "
            "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1.",
            params=(
                Param(
                    "projectId",
                    "Project",
                    "Project id (defaults to the credentials' project).",
                ),
                BUCKET_PARAM,
                FOLDER_PARAM,
                _endpoint(None, "JSON API"),
                MAX_READS_PARAM,
            ),
            ambient=True,
            vendor_hosts=GOOGLE_STORAGE_HOSTS,
        ),
    ),
)
