"""The HTML Azkaban answers with, reduced to what clients and the conformance rules look at.

Clients recognise these pages rather than read them: the login page by ``id="login-form"``,
Jetty's error page by ``HTTP ERROR``, Azkaban's error box by ``<div class="alert
alert-danger"><h4>Error</h4>``. The one value read from a page is the project description,
which Azkaban escapes twice (once for every string a page gets, once in the template).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.entities import codepoint2name

_TITLE = "Azkaban Web Client"


def escape_html(text: str) -> str:
    """commons-lang 2 ``StringEscapeUtils.escapeHtml``: HTML 4 names, else ``&#N;`` per UTF-16
    unit (Azkaban escapes page strings with it, and its templates once more)."""
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch == '"':
            out.append("&quot;")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif cp > 0x7F:
            name = codepoint2name.get(cp)
            if name is not None:
                out.append(f"&{name};")
            elif cp > 0xFFFF:
                cp -= 0x10000
                out.append(f"&#{0xD800 + (cp >> 10)};&#{0xDC00 + (cp & 0x3FF)};")
            else:
                out.append(f"&#{cp};")
        else:
            out.append(ch)
    return "".join(out)


def _frame(body: str, *, script: str = "") -> str:
    return (
        '\n\n<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_TITLE}\n</title>\n"
        '<link href="/css/bootstrap.css" rel="stylesheet">\n'
        '<link href="/css/azkaban.css" rel="stylesheet">\n'
        f"{script}"
        '<script type="text/javascript">\n    var contextURL = "";\n  </script>\n'
        "</head>\n<body>\n"
        '<div class="navbar navbar-inverse navbar-static-top">\n'
        '  <div class="container-full">\n'
        '    <div class="navbar-header">\n'
        '      <div class="navbar-logo"><a href="/">Azkaban</a></div>\n'
        "    </div>\n"
        '    <div class="navbar-left navbar-enviro">\n'
        '      <div class="navbar-enviro-name">Sandbox</div>\n'
        '      <div class="navbar-enviro-server">azstate sandbox</div>\n'
        "    </div>\n  </div>\n</div>\n"
        f"{body}\n</body>\n</html>\n"
    )


def login_page() -> str:
    body = (
        '<div class="container-full">\n  <div class="login">\n'
        '    <div class="alert alert-danger" id="error-msg"></div>\n'
        '    <div class="well">\n'
        '      <form id="login-form" role="form">\n        <fieldset>\n'
        "          <legend>Login</legend>\n"
        '          <input type="text" class="form-control" name="username" id="username"'
        ' placeholder="Username">\n'
        '          <input type="password" class="form-control" name="password" id="password"'
        ' placeholder="Password">\n'
        '          <button type="button" class="btn btn-primary btn-lg btn-block"'
        ' id="login-submit">Login\n          </button>\n'
        "        </fieldset>\n      </form>\n    </div>\n  </div>\n</div><!-- /container -->"
    )
    script = '<script type="text/javascript" src="/js/azkaban/view/login.js"></script>\n'
    return _frame(body, script=script)


def error_box(message: str) -> str:
    """Azkaban's error alert as the page templates render ``errorMsg``."""
    return (
        '<div class="container-full">\n'
        f'  <div class="alert alert-danger"><h4>Error</h4>{escape_html(message)}</div>\n'
        "</div>"
    )


def message_page(error: str | None = None, heading: str = "") -> str:
    """A logged-in page: either an error box or a plain heading."""
    if error is not None:
        return _frame(error_box(error))
    return _frame(f'<div class="container-full">\n  <h2>{escape_html(heading)}</h2>\n</div>')


_NEWLINE = "!NEWLINE!"


def description_first_pass(description: str) -> str:
    """What the project page code makes of a description before its template escapes it again.

    ``<br>`` and ``<br/>`` (lower case, exactly) become a marker, the text is escaped, and the
    marker (also one the user typed) becomes ``<br>``: the only tag that survives one pass.
    The template's second pass escapes that too, so nothing of a description is ever markup.
    """
    marked = description.replace("<br/>", _NEWLINE).replace("<br>", _NEWLINE)
    return escape_html(marked).replace(_NEWLINE, "<br>")


def project_page(
    name: str,
    project_id: int,
    description: str,
    flows: list[str],
    admins: list[str],
    *,
    created: str,
    modified: str,
    modified_by: str,
) -> str:
    """``projectpage.vm`` with ``projectsidebar.vm``: the description escaped twice, times to
    the second in the server's zone."""
    rows = "".join(
        f'      <li class="list-group-item"><a href="/manager?project={escape_html(name)}'
        f'&flow={escape_html(flow)}">{escape_html(flow)}</a></li>\n'
        for flow in flows
    )
    body = (
        '<div class="az-page-header">\n  <div class="container-full">\n'
        f'    <h1><a href="/manager?project={escape_html(name)}">Project '
        f"<small>{escape_html(name)}</small></a></h1>\n  </div>\n</div>\n"
        '<div class="container-full">\n  <div class="row">\n'
        '    <div class="col-xs-8">\n'
        f'      <ul class="list-group" id="flow-list">\n{rows}      </ul>\n    </div>\n'
        '    <div class="col-xs-4">\n      <div class="well" id="project-sidebar">\n'
        f"        <h3>{escape_html(name)}</h3>\n"
        '        <p class="editable" id="project-description">'
        f"{escape_html(description_first_pass(description))}</p>\n"
        f"        <p><strong>Project id</strong> {project_id}</p>\n"
        f"        <p><strong>Created on</strong> {escape_html(created)}</p>\n"
        f"        <p><strong>Last modified on</strong> {escape_html(modified)}</p>\n"
        f"        <p><strong>Modified by</strong> {escape_html(modified_by)}</p>\n"
        f"        <p><strong>Admins</strong> {escape_html(', '.join(admins))}</p>\n"
        "      </div>\n    </div>\n  </div>\n</div>"
    )
    return _frame(body)


@dataclass(frozen=True)
class IndexEntry:
    """One project of the ``/index`` page, its times already formatted."""

    name: str
    description: str
    modified: str
    modified_by: str


def index_page(entries: list[IndexEntry], *, view: str) -> str:
    """``index.vm``: one list item per project, the description escaped once.

    White space stays raw inside ``<p class="project-description">``; characters without an
    HTML 4 name come out as ``&#N;`` per UTF-16 unit, as on the recorded build
    (velocity-tools 2.0). ``view`` is ``all`` or ``personal``, the tab that is active.
    """
    items = "".join(
        "                      <li>\n"
        '              <div class="project-info">\n'
        "                <h4><a\n"
        f'                    href="/manager?project={escape_html(e.name)}">'
        f"{escape_html(e.name)}</a>\n                </h4>\n"
        f'                <p class="project-description">{escape_html(e.description)}</p>\n'
        '                <p class="project-last-modified">Last modified on\n'
        f"                  <strong>{escape_html(e.modified)}</strong> by\n"
        f"                  <strong>{escape_html(e.modified_by)}</strong>.</p>\n"
        "              </div>\n"
        f'              <div class="project-expander" id="{escape_html(e.name)}">\n'
        '                <span class="glyphicon glyphicon-chevron-down project-expander-icon">'
        "</span>\n              </div>\n"
        '              <div class="clearfix"></div>\n'
        f'              <div class="project-flows" id="{escape_html(e.name)}-child">\n'
        "                <h5>Flows</h5>\n"
        f'                <div class="list-group" id="{escape_html(e.name)}-tbody">\n'
        "                </div>\n              </div>\n            </li>\n"
        for e in entries
    )
    active = ' class="active"'
    tabs = "".join(
        f'    <li{active if key == view else ""}><a href="/index{query}">{label}</a></li>\n'
        for key, query, label in (("personal", "", "Personal"), ("all", "?all", "All"))
    )
    body = (
        '<div class="az-page-header">\n  <div class="container-full">\n'
        "    <h1>Projects</h1>\n  </div>\n</div>\n"
        '<div class="container-full">\n'
        f'  <ul class="nav nav-pills" id="project-view-tabs">\n{tabs}  </ul>\n'
        f'  <ul id="project-list">\n{items}  </ul>\n'
        "</div>"
    )
    return _frame(body)


def jetty_error(status: int, message: str, uri: str) -> str:
    """Jetty's own error page (an exception escaped the servlet, or a method not allowed)."""
    text = escape_html(message)
    return (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=iso-8859-1"/>\n'
        f"<title>Error {status} {text}</title>\n</head>\n"
        f"<body><h2>HTTP ERROR {status} {text}</h2>\n<table>\n"
        f"<tr><th>URI:</th><td>{escape_html(uri)}</td></tr>\n"
        f"<tr><th>STATUS:</th><td>{status}</td></tr>\n"
        f"<tr><th>MESSAGE:</th><td>{text}</td></tr>\n"
        "</table>\n\n</body>\n</html>\n"
    )
