"""Realistic XDM Individual Profile data for the demo, tests and benchmarks.

:func:`profile_table` makes rows shaped like the Profile class with the demographic, personal
contact and identity map field groups plus a tenant ``loyalty`` field group
(:func:`loyalty_field_group`), in AEP compatibility-mode column names. Rows can be made bad on
purpose (:data:`BAD_KINDS`), each kind breaking one rule of the schema.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

PROFILE_CLASS = "https://ns.adobe.com/xdm/context/profile"
PROFILE_FIELD_GROUPS = (
    "https://ns.adobe.com/xdm/context/profile-person-details",
    "https://ns.adobe.com/xdm/context/profile-personal-details",
    "https://ns.adobe.com/xdm/context/identitymap",
)

#: How a row can break the schema, and what it breaks.
BAD_KINDS = {
    "gender": "person.gender is not one of the enum values",
    "email": "personalEmail.address is not an email address",
    "loyalty_id": "the required _<tenant>.loyalty.loyaltyId is missing",
    "points": "_<tenant>.loyalty.points is below its minimum of 0",
}

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
_CITIES = [("Berlin", "10115", "DE"), ("Lyon", "69001", "FR"), ("Austin", "73301", "US")]
_TIERS = ["bronze", "silver", "gold"]


def loyalty_field_group(tenant_id: str) -> dict[str, Any]:
    """A tenant field group (under ``_{tenant_id}``) with a required id, an enum, a minimum."""
    return {
        "title": "Loyalty Details",
        "description": "Loyalty programme membership.",
        "type": "object",
        "meta:intendedToExtend": [PROFILE_CLASS],
        "definitions": {
            "loyalty": {
                "properties": {
                    f"_{tenant_id}": {
                        "type": "object",
                        "properties": {
                            "loyalty": {
                                "type": "object",
                                "required": ["loyaltyId"],
                                "properties": {
                                    "loyaltyId": {"type": "string", "minLength": 1},
                                    "tier": {"type": "string", "enum": _TIERS},
                                    "points": {
                                        "type": "integer",
                                        "meta:xdmType": "long",
                                        "minimum": 0,
                                    },
                                    "memberSince": {"type": "string", "format": "date"},
                                },
                            }
                        },
                    }
                }
            }
        },
        "allOf": [{"$ref": "#/definitions/loyalty"}],
    }


def create_profile_schema(registry: Any, title: str = "Loyalty Profiles") -> dict[str, Any]:
    """Register the loyalty field group and a Profile schema using it; returns the schema."""
    group = registry.create("fieldgroups", loyalty_field_group(registry.tenant_id))
    return dict(registry.create_schema(title, PROFILE_CLASS, [*PROFILE_FIELD_GROUPS, group["$id"]]))


def file_schema(tenant_id: str) -> pa.Schema:
    """The Arrow schema of the generated files."""
    identity = pa.struct(
        [("id", pa.string()), ("primary", pa.bool_()), ("authenticatedState", pa.string())]
    )
    return pa.schema(
        [
            ("_id", pa.string()),
            ("personID", pa.string()),
            (
                "person",
                pa.struct(
                    [
                        (
                            "name",
                            pa.struct([("firstName", pa.string()), ("lastName", pa.string())]),
                        ),
                        ("birthDate", pa.date32()),
                        ("gender", pa.string()),
                    ]
                ),
            ),
            (
                "homeAddress",
                pa.struct(
                    [
                        ("city", pa.string()),
                        ("postalCode", pa.string()),
                        ("countryCode", pa.string()),
                    ]
                ),
            ),
            ("personalEmail", pa.struct([("address", pa.string()), ("primary", pa.bool_())])),
            ("identityMap", pa.map_(pa.string(), pa.list_(identity))),
            ("_repo", pa.struct([("createDate", pa.timestamp("us", tz="UTC"))])),
            (
                f"_{tenant_id}",
                pa.struct(
                    [
                        (
                            "loyalty",
                            pa.struct(
                                [
                                    ("loyaltyId", pa.string()),
                                    ("tier", pa.string()),
                                    ("points", pa.int64()),
                                    ("memberSince", pa.date32()),
                                ]
                            ),
                        )
                    ]
                ),
            ),
        ]
    )


def profile_table(
    rows: int,
    *,
    tenant_id: str = "local",
    start: int = 0,
    seed: int = 7,
    bad: Mapping[int, str] | None = None,
) -> pa.Table:
    """``rows`` profiles numbered from ``start``; ``bad`` maps row positions to a BAD_KINDS key."""
    rng = random.Random(seed + start)
    bad = dict(bad or {})
    unknown = set(bad.values()) - set(BAD_KINDS)
    if unknown:
        raise ValueError(f"unknown bad kinds {sorted(unknown)}; known: {sorted(BAD_KINDS)}")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    records = []
    for i in range(rows):
        n = start + i
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, postal, country = rng.choice(_CITIES)
        email = f"{first}.{last}{n}@example.com".lower()
        kind = bad.get(i)
        records.append(
            {
                "_id": f"profile-{n}",
                "personID": f"P{n:08d}",
                "person": {
                    "name": {"firstName": first, "lastName": last},
                    "birthDate": date(1950, 1, 1) + timedelta(days=rng.randrange(20000)),
                    "gender": "robot" if kind == "gender" else rng.choice(["female", "male"]),
                },
                "homeAddress": {"city": city, "postalCode": postal, "countryCode": country},
                "personalEmail": {
                    "address": "not-an-email" if kind == "email" else email,
                    "primary": True,
                },
                "identityMap": [
                    (
                        "Email",
                        [{"id": email, "primary": True, "authenticatedState": "authenticated"}],
                    )
                ],
                "_repo": {"createDate": created + timedelta(minutes=n)},
                f"_{tenant_id}": {
                    "loyalty": {
                        "loyaltyId": None if kind == "loyalty_id" else f"L{n:08d}",
                        "tier": rng.choice(_TIERS),
                        "points": -5 if kind == "points" else rng.randrange(0, 50_000),
                        "memberSince": date(2015, 1, 1) + timedelta(days=rng.randrange(3000)),
                    }
                },
            }
        )
    return pa.Table.from_pylist(records, schema=file_schema(tenant_id))
