"""``/docs`` (Swagger UI) and ``/redoc`` (Redoc): the API reference pages, served with the
scripts and styles vendored in ``static/vendor`` (see its README), so they work without
internet access and no request leaves the server — no CDN, no Google Fonts, no Swagger
validator. No authentication, as ``/openapi.json`` itself.

The assets are under ``/static/vendor/<package>-<version>/``: the version is in the URL, so
they are cached for a year and never go stale. The pages carry a Content-Security-Policy that
lets the browser load from this server only: what the bundles would fetch elsewhere (Redoc's
footer logo comes from its CDN) is never requested, on any network.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from lakefeed.errors import RouteNotFound

PREFIX = ""
router = APIRouter(include_in_schema=False)

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
ASSETS_PATH = "/static/vendor"
SWAGGER_UI = "swagger-ui-dist-5.35.0"
REDOC = "redoc-2.5.4"
OPENAPI_PATH = "/openapi.json"
#: Versioned URLs never change content: a year, and no revalidation.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
#: This server only. Inline styles: both UIs style elements from script; ``blob:`` workers:
#: Redoc's search index. Inline scripts only by the hash of those the page carries.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


def _assets() -> dict[str, Path]:
    """Every servable file, by its path under :data:`ASSETS_PATH` (``<folder>/<file>``):
    an allow-list, so no request path is ever joined onto the file system."""
    return {
        f"{folder.name}/{file.name}": file
        for folder in sorted(VENDOR_DIR.iterdir())
        if folder.is_dir()
        for file in sorted(folder.iterdir())
        if file.is_file()
    }


ASSETS = _assets()


def _asset_url(request: Request, name: str) -> str:
    return f"{_root(request)}{ASSETS_PATH}/{name}"


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _confined(page: HTMLResponse) -> HTMLResponse:
    """``page`` with :data:`CONTENT_SECURITY_POLICY`, its inline scripts allowed by hash."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(bytes(page.body).decode())
    )
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(scripts=hashes)
    return page


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``: "Authorize" once with the token and the Platform
    headers, then "Try it out" on any route."""
    page = get_swagger_ui_html(
        openapi_url=_root(request) + OPENAPI_PATH,
        title=f"{request.app.title} - API reference (Swagger UI)",
        swagger_js_url=_asset_url(request, f"{SWAGGER_UI}/swagger-ui-bundle.js"),
        swagger_css_url=_asset_url(request, f"{SWAGGER_UI}/swagger-ui.css"),
        swagger_favicon_url=_asset_url(request, f"{SWAGGER_UI}/favicon-32x32.png"),
        # validatorUrl None: Swagger UI would otherwise send the document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "displayOperationId": True},
    )
    return _confined(page)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """Redoc over ``/openapi.json``, in the browser's own fonts."""
    page = get_redoc_html(
        openapi_url=_root(request) + OPENAPI_PATH,
        title=f"{request.app.title} - API reference (Redoc)",
        redoc_js_url=_asset_url(request, f"{REDOC}/redoc.standalone.js"),
        redoc_favicon_url=_asset_url(request, f"{SWAGGER_UI}/favicon-32x32.png"),
        with_google_fonts=False,
    )
    return _confined(page)


@router.get(ASSETS_PATH + "/{name:path}")
def vendored_asset(name: str) -> FileResponse:
    """One vendored file (scripts, styles, icons and their licences); 404 for anything else."""
    file = ASSETS.get(name)
    if file is None:
        raise RouteNotFound(
            f"No vendored asset {name[:200]!r} (served: {', '.join(sorted(ASSETS))}).",
            fix="Open /docs or /redoc; they name the assets they load.",
        )
    return FileResponse(
        file,
        media_type=MEDIA_TYPES.get(file.suffix, "text/plain; charset=utf-8"),
        headers={"Cache-Control": ASSET_CACHE_CONTROL},
    )
