"""Connection specs: ids, JSON Schema export and validation errors that name field and spec."""

from __future__ import annotations

import pytest

from lakefeed.errors import InvalidAuthParams, UnknownAuthSpec
from lakefeed.plugins import get_plugins
from lakefeed.specs import (
    CLOUD_STORAGE_FLOW_SPEC_ID,
    DATASET_TARGET_SPEC,
    DATASET_TARGET_SPEC_ID,
    cloud_storage_flow_spec,
)

WELL_KNOWN = {
    "amazon-s3": "ecadc60c-7455-4d87-84dc-2a0e293d997b",
    "azure-blob": "4c10e202-c428-4796-9208-5f1f5732b1cf",
    "adls-gen2": "b3ba5556-48be-44b7-8b85-ff2b69b46dc4",
    "google-cloud": "32e8f412-cdf7-464c-9885-78184cb113fd",
    "sftp": "b7bf2577-4520-42c9-bae9-cad01560f7bc",
}

AUTH_PARAMS = {
    ("amazon-s3", "Access Key"): {
        "s3AccessKey",
        "s3SecretKey",
        "s3SessionToken",
        "serviceUrl",
        "bucketName",
        "folderPath",
    },
    ("azure-blob", "ConnectionString"): {"connectionString"},
    ("azure-blob", "SAS URI Authentication"): {"sasUri"},
    ("adls-gen2", "Basic Authentication for adls-gen2"): {
        "url",
        "servicePrincipalId",
        "servicePrincipalKey",
        "tenant",
    },
    ("google-cloud", "Basic Authentication for google-cloud"): {
        "accessKeyId",
        "secretAccessKey",
        "bucketName",
        "folderPath",
    },
    ("sftp", "Basic Authentication for sftp"): {
        "host",
        "port",
        "userName",
        "password",
        "maxConcurrentConnections",
        "folderPath",
    },
    ("sftp", "SSH PublicKey Authentication for sftp"): {
        "host",
        "port",
        "userName",
        "privateKeyContent",
        "passPhrase",
    },
}


def spec(name: str):  # type: ignore[no-untyped-def]
    return get_plugins().source_type(name).spec


@pytest.mark.parametrize(("name", "spec_id"), WELL_KNOWN.items())
def test_well_known_ids(name: str, spec_id: str) -> None:
    assert spec(name).id == spec_id
    assert get_plugins().source_type(spec_id).spec.name == name


@pytest.mark.parametrize(("key", "params"), AUTH_PARAMS.items(), ids=lambda v: str(v))
def test_auth_param_names_match_flow_service(key: tuple[str, str], params: set[str]) -> None:
    auth = spec(key[0]).auth_spec(key[1])
    assert params <= {p.name for p in auth.params}


def test_json_schema_marks_required_secret_and_defaults() -> None:
    schema = spec("sftp").auth_spec("Basic Authentication for sftp").json_schema()
    assert set(schema["required"]) == {"host", "userName", "password"}
    assert schema["properties"]["password"]["format"] == "password"
    assert schema["properties"]["password"]["x-secret"] is True
    assert "format" not in schema["properties"]["host"]
    assert schema["properties"]["port"]["default"] == 22
    assert schema["properties"]["hostKeyChecking"]["default"] is True


def test_connection_spec_shape_has_source_and_explore_specs() -> None:
    data = spec("amazon-s3").to_dict()
    assert data["authSpec"][0]["name"] == "Access Key"
    assert data["sourceSpec"]["spec"]["required"] == ["path"]
    assert data["exploreSpec"]["name"] == "FileSystem"
    assert data["providerId"] == "0ed90a81-07f4-4586-8190-b40eccef1c5a"


def test_validation_fills_defaults_and_coerces_strings() -> None:
    values = spec("sftp").validate_auth(
        "Basic Authentication for sftp",
        {"host": "h", "userName": "u", "password": "p", "port": "2222", "hostKeyChecking": "false"},
    )
    assert values["port"] == 2222 and values["hostKeyChecking"] is False
    assert values["maxConcurrentConnections"] == 4


def test_validation_lists_every_problem_with_field_and_spec_names() -> None:
    with pytest.raises(InvalidAuthParams) as caught:
        spec("sftp").validate_auth(
            "Basic Authentication for sftp", {"host": "h", "port": "x", "colour": "red"}
        )
    message = str(caught.value)
    for fragment in (
        "'sftp'",
        "'userName'",
        "'password'",
        "'port' must be of type integer",
        "'colour'",
    ):
        assert fragment in message
    assert caught.value.code == "LF-1304"


def test_validation_rejects_below_minimum() -> None:
    with pytest.raises(InvalidAuthParams, match="maxConcurrentConnections"):
        spec("sftp").validate_auth(
            "Basic Authentication for sftp",
            {"host": "h", "userName": "u", "password": "p", "maxConcurrentConnections": 0},
        )


def test_unknown_auth_spec_lists_available_ones() -> None:
    with pytest.raises(UnknownAuthSpec) as caught:
        spec("azure-blob").auth_spec("Kerberos")
    assert "ConnectionString" in str(caught.value) and "SAS URI Authentication" in str(caught.value)


def test_auth_spec_name_is_case_insensitive() -> None:
    assert spec("amazon-s3").auth_spec("access key").name == "Access Key"


def test_target_and_flow_specs_exist_as_data() -> None:
    target = DATASET_TARGET_SPEC.to_dict()
    assert target["id"] == DATASET_TARGET_SPEC_ID == "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
    assert target["targetSpec"]["spec"]["required"] == ["dataSetId"]
    flow = cloud_storage_flow_spec(tuple(WELL_KNOWN.values())).to_dict()
    assert flow["id"] == CLOUD_STORAGE_FLOW_SPEC_ID == "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
    assert flow["name"] == "CloudStorageToAEP"
    assert flow["targetConnectionSpecIds"] == [DATASET_TARGET_SPEC_ID]
    assert set(flow["scheduleSpec"]["spec"]["properties"]["frequency"]["enum"]) == {
        "once",
        "minute",
        "hour",
        "day",
        "week",
    }
