"""Platform APIs lakefeed does not offer, answered 404 with a message that names the API and
the way to do the same with lakefeed — never a 400 about a path parameter, never a 500.

- the Batch Ingestion API (``/data/foundation/import/…``: batch creation, file upload,
  ``?action=COMPLETE``): lakefeed's batches are written by flows;
- Schema Registry descriptors and unions (``/schemaregistry/{container}/descriptors…``,
  ``…/unions…``);
- batched Catalog requests (``POST /data/foundation/catalog/`` with a list of requests);
- creating a Catalog batch (``POST /data/foundation/catalog/batches``): 405, as the route
  exists for GET, naming the Flow Service route that makes batches.
"""

from __future__ import annotations

from fastapi import APIRouter

from lakefeed.errors import ApiNotOffered, MethodNotOffered

PREFIX = "/data/foundation"
router = APIRouter(tags=["not offered"], include_in_schema=False)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/import", methods=METHODS)
@router.api_route("/import/{rest:path}", methods=METHODS)
def batch_ingestion() -> None:
    raise ApiNotOffered(
        "lakefeed does not offer the Batch Ingestion API (/data/foundation/import): batches "
        "are created by flows, not uploaded.",
        fix="Land the files in a storage location and ingest them with a flow (POST "
        "/data/foundation/flowservice/flows), or `lakefeed ingest` from the command line.",
    )


@router.api_route("/schemaregistry/{container}/descriptors", methods=METHODS)
@router.api_route("/schemaregistry/{container}/descriptors/{rest:path}", methods=METHODS)
def descriptors(container: str) -> None:
    raise ApiNotOffered(
        f"lakefeed does not offer Schema Registry descriptors (/{container}/descriptors): "
        "identity, relationship and friendly-name descriptors are not kept.",
        fix="Leave descriptors out: flows ingest without them.",
    )


@router.api_route("/schemaregistry/{container}/unions", methods=METHODS)
@router.api_route("/schemaregistry/{container}/unions/{rest:path}", methods=METHODS)
def unions(container: str) -> None:
    raise ApiNotOffered(
        f"lakefeed does not offer Schema Registry unions (/{container}/unions): there is no "
        "Real-Time Customer Profile to merge schemas for.",
        fix="Read each schema on its own: GET /data/foundation/schemaregistry/tenant/schemas.",
    )


@router.post("/catalog")
def batched_catalog_requests() -> None:
    raise ApiNotOffered(
        "lakefeed does not offer batched Catalog requests (POST /data/foundation/catalog/ "
        "with a list of requests).",
        fix="Send each request on its own (POST /dataSets, GET /batches/{id}, …).",
    )


@router.post("/catalog/batches")
def create_batch() -> None:
    raise MethodNotOffered(
        "lakefeed's Catalog does not create batches (POST /data/foundation/catalog/batches): "
        "a batch is made by a flow run, which writes it.",
        fix='Start a run of a flow: POST /data/foundation/flowservice/runs with {"flowId": …} '
        "(or `lakefeed flows run`); then GET /data/foundation/catalog/batches lists its batch.",
    )
