"""What Sightline serves to a browser: the dashboard at `/ui`, the API docs pages and the
package's static files.

    dashboard.py    the dashboard app (mounted at /ui by `create_app`), its ROUTERS list
    auth/           session.py (signed cookie, secret), csrf.py, dependencies.py
                    (VisitorDep, ViewerDep, CsrfDep), routes.py (sign in/out, project switch)
    rendering.py    `render(request, "area/page.html", {...})`, filters, `ui_base`
    errors.py       HTML error pages (404 for what the organization cannot see)
    security.py     CSP and the other headers on every dashboard response
    <area>/         one package per page area: routes.py (+ forms.py for parsing input)
    templates/      base.html, <area>/*.html;  static/  app.css, app.js, vendor/ (htmx,
                    Swagger UI, ReDoc: pinned, each with its licence and a version note)
    docs.py, static.py   /docs, /redoc, and the /static mount

How to add a page (e.g. Sessions):

1. `web/sessions/__init__.py` and `web/sessions/routes.py` with `router = APIRouter()`;
   add it to `ROUTERS` in `web/dashboard.py`. Paths are relative to /ui (`@router.get
   ("/sessions")` serves /ui/sessions).
2. Every page handler takes `viewer: ViewerDep` (signs the visitor in or redirects to the
   sign-in page; `viewer.scope` is the Scope the API's services take, `viewer.project_id`
   the project) and `db: DbDep` (one transaction, committed after the handler). Call the
   same service functions as the API routes do (`traces.service`, `evals.runs.service`,
   ...). No SQL and no business logic here: a missing query goes to the domain's
   repository/service.
3. Return `render(request, "sessions/list.html", {"nav": "sessions", ...})`. Templates
   extend `base.html` and fill `{% block content %}`; `nav` marks the menu entry. Jinja2
   autoescapes everything: never use `|safe` on data (agents' data is untrusted). Pretty
   JSON: `value|pretty`; folding long payloads: `{% from "macros.html" import payload %}`
   `{{ payload(value) }}`. Other filters: `duration`, `usd`, `when`, `number`;
   `query(params, offset=50)` builds a link's query string.
4. A state-changing route is a POST that also takes `_csrf: CsrfDep`; its form carries
   `<input type="hidden" name="csrf_token" value="{{ csrf_token }}">` (htmx requests send
   the header from `<body hx-headers>` by themselves). Answer with a 303 redirect, or
   re-render the form with the service's error message beside its field (status 422).
5. Service errors raise through: NotFound renders the 404 page, others the error page.
   No inline `<script>`, no `style=""`, no `on*=` attributes (the CSP refuses them): put
   behaviour in `static/app.js` (delegated listeners on data-* attributes) and looks in
   `static/app.css`; draw charts as server-rendered SVG (attributes, not styles).
6. Tests: `tests/web/` (HTTP: `tests/web/conftest.py` signs a client in; browser:
   `tests/web/test_dashboard_browser.py`).
"""
