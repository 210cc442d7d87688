"""The SFTP connection spec, with Flow Service's id and auth param names."""

from lakefeed.specs import AuthSpec, ConnectionSpec, Param

SFTP_SPEC_ID = "b7bf2577-4520-42c9-bae9-cad01560f7bc"
PASSWORD = "Basic Authentication for sftp"
PUBLIC_KEY = "SSH PublicKey Authentication for sftp"

_COMMON = (
    Param("host", "Host", "Host name or IP address of the SFTP server.", required=True),
    Param("port", "Port", "TCP port.", type="integer", default=22, minimum=1),
    Param("userName", "User", "User name to log in as.", required=True),
)
_OPTIONS = (
    Param(
        "maxConcurrentConnections",
        "Concurrent connections",
        "Connections opened at once for reading files; keep it below the server's limit.",
        type="integer",
        default=4,
        minimum=1,
    ),
    Param("folderPath", "Folder", "Folder relative paths start in (default: the login folder)."),
    Param(
        "knownHosts",
        "Known hosts",
        "known_hosts lines for this server; default: ~/.ssh/known_hosts.",
    ),
    Param(
        "hostKeyChecking",
        "Check host key",
        "Refuse servers whose host key is unknown or changed.",
        type="boolean",
        default=True,
    ),
    Param(
        "timeout",
        "Timeout",
        "Seconds to wait for connect and each reply.",
        type="integer",
        default=30,
        minimum=1,
    ),
    Param(
        "keepalive",
        "Keepalive",
        "Seconds between keepalive packets (0: off).",
        type="integer",
        default=30,
    ),
)

SPEC = ConnectionSpec(
    id=SFTP_SPEC_ID,
    name="sftp",
    label="SFTP",
    description="Files on an SFTP server.",
    path_root="folder",
    documentation_link="docs/reference/plugins.md#sftp",
    auth_specs=(
        AuthSpec(
            name=PASSWORD,
            type="SFTP Basic Authentication",
            description="User name and password.",
            params=(
                *_COMMON,
                Param("password", "Password", "The user's password.", required=True, secret=True),
                *_OPTIONS,
            ),
        ),
        AuthSpec(
            name=PUBLIC_KEY,
            type="SFTP SSH PublicKey Authentication",
            description="An OpenSSH private key (base64 of the key file), optionally encrypted.",
            params=(
                *_COMMON,
                Param(
                    "privateKeyContent",
                    "Private key",
                    "Base64 of the OpenSSH private key file (RSA, ECDSA or Ed25519).",
                    required=True,
                    secret=True,
                ),
                Param("passPhrase", "Passphrase", "Passphrase of an encrypted key.", secret=True),
                *_OPTIONS,
            ),
        ),
    ),
)
