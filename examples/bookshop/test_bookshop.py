"""The bookshop, served by uvicorn in a process of its own, answers every endpoint over HTTP.

On SQLite (a file of the test's own), PostgreSQL and MariaDB: the project is migrated and
loaded with its sample data by its own ``manage.py``, then each test talks HTTP to it. The
rows a failed write must not leave are counted in the database itself. ``run.py`` is run
twice on one SQLite file: the second run keeps what the first wrote. One test, on SQLite,
drives Debian's chromium (``/usr/bin/chromium``, installed by ``scripts/services.sh``) with
Playwright through the HTML page: it loads, searches and pages as a visitor would.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
import pytest
from playwright.sync_api import Page, sync_playwright
from vinyl_testing import servers
from vinyl_testing.processes import free_port, wait_until_listening

PROJECT = Path(__file__).resolve().parent
# Debian's package, never a browser downloaded by `playwright install`.
CHROMIUM = Path("/usr/bin/chromium")
with (PROJECT / "catalog" / "sample_books.csv").open(encoding="utf-8") as rows:
    SAMPLE = list(csv.DictReader(rows))


@dataclass
class Site:
    url: str
    vendor: str
    database: dict[str, Any]

    def count(self, table: str, **where: Any) -> int:
        """Return how many rows of *table* match *where*, read in the database itself."""
        condition = " AND ".join(f"{column} = %s" for column in where) or "1 = 1"
        sql = f"SELECT COUNT(*) FROM {table} WHERE {condition}"
        if self.vendor == "sqlite":
            connection: Any = sqlite3.connect(self.database["path"])
            sql = sql.replace("%s", "?")
        elif self.vendor == "postgresql":
            connection = psycopg2.connect(**self.database)
        else:
            connection = pymysql.connect(**self.database)
        try:
            cursor = connection.cursor()
            cursor.execute(sql, list(where.values()))
            return int(cursor.fetchone()[0])
        finally:
            connection.close()


def environment(database_url: str) -> dict[str, str]:
    """Return the environment of the project's processes, on the database *database_url*."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        # The test plugin's settings and its permission for sync code on an event loop
        # are this process's: the site runs as it would anywhere.
        if key not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return {
        **inherited,
        # Absolute: under Pants, sys.path names the source roots relative to the sandbox.
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *map(os.path.abspath, sys.path)]),
        "DJANGO_SETTINGS_MODULE": "bookshop.settings",
        "BOOKSHOP_DATABASE_URL": database_url,
    }


def new_database(vendor: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """Return the URL of a new, empty database on *vendor*, and how to connect to it."""
    if vendor == "sqlite":
        path = tmp_path / "bookshop.sqlite3"
        return f"sqlite://{path}", {"path": path}
    server = servers.postgresql() if vendor == "postgresql" else servers.mysql()
    name = f"{server.name}_bookshop"
    login: dict[str, Any] = {"host": server.host, "port": server.port, "user": server.user}
    login["password"] = server.password
    if vendor == "postgresql":
        admin: Any = psycopg2.connect(**login, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        database = {**login, "dbname": name}
    else:
        admin = pymysql.connect(**login, autocommit=True)
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        database = {**login, "database": name}
    admin.close()
    password = f":{server.password}" if server.password else ""
    url = f"{vendor}://{server.user}{password}@{server.host}:{server.port}/{name}"
    return url, database


def manage(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py *command`` in the project with *env*; fail the test if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """Serve the project, migrated and loaded with the sample data, on one database."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    database_url, database = new_database(request.param, tmp_path)
    env = environment(database_url)
    manage(env, "migrate", "-v0")
    manage(env, "load_sample_data")
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("w") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bookshop.asgi:application"]
            + ["--port", str(port), "--lifespan", "on", "--no-access-log"],
            cwd=PROJECT,
            env=env,
            stderr=errors,
        )
    try:
        wait_until_listening(server, port, log)
        yield Site(f"http://127.0.0.1:{port}", request.param, database)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert "Application shutdown complete." in log.read_text()


def call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """Send a request with *body* as JSON; return the status and the JSON answer (or None)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    is_json = raw.startswith((b"{", b"["))
    return status, json.loads(raw) if is_json else raw.decode()


def get(url: str) -> Any:
    status, body = call("GET", url)
    assert status == 200, body
    return body


def titles(rows: list[dict[str, str]]) -> set[str]:
    return {row["title"] for row in rows}


def tagged(tag: str) -> list[dict[str, str]]:
    return [row for row in SAMPLE if tag in row["tags"].split(";")]


def test_the_list_filters_and_pages(site: Site) -> None:
    gothic = get(f"{site.url}/api/books/?tag=gothic")
    assert (gothic["count"], gothic["page"], gothic["pages"]) == (len(tagged("gothic")), 1, 1)
    assert titles(gothic["results"]) == titles(tagged("gothic"))
    # Pages of 20, ordered by title; the last page holds the rest.
    novels = tagged("novel")
    first = get(f"{site.url}/api/books/?tag=novel")
    last = get(f"{site.url}/api/books/?tag=novel&page={first['pages']}")
    assert first["pages"] == -(-len(novels) // 20) > 1
    assert len(first["results"]) == 20
    assert len(last["results"]) == len(novels) - 20 * (first["pages"] - 1)
    # By author (an id) and by a word of the title.
    dickens = next(
        b["author"] for b in first["results"] if b["author"]["name"] == "Charles Dickens"
    )
    by_dickens = get(f"{site.url}/api/books/?author={dickens['id']}")
    assert titles(by_dickens["results"]) == {
        row["title"] for row in SAMPLE if row["author"] == "Charles Dickens"
    }
    assert {book["author"]["name"] for book in by_dickens["results"]} == {"Charles Dickens"}
    seas = get(f"{site.url}/api/books/?q=SEAS&tag=adventure")
    assert titles(seas["results"]) == {"Twenty Thousand Leagues Under the Seas"}


def test_list_errors(site: Site) -> None:
    assert call("GET", f"{site.url}/api/books/?page=99") == (
        404,
        {"error": "Invalid page (99): That page contains no results"},
    )
    assert call("GET", f"{site.url}/api/books/?page=x") == (
        400,
        {"errors": {"page": ["That page number is not an integer"]}},
    )
    assert call("GET", f"{site.url}/api/books/?page=0") == (
        400,
        {"errors": {"page": ["That page number is less than 1"]}},
    )
    assert call("GET", f"{site.url}/api/books/?author=ada") == (
        400,
        {"errors": {"author": ["Enter a whole number."]}},
    )


def test_the_detail_has_the_author_tags_and_reviews(site: Site) -> None:
    # load_sample_data gives the fourth book of the file two reviews.
    [found] = get(f"{site.url}/api/books/?q=Sense and Sensibility".replace(" ", "%20"))["results"]
    book = get(f"{site.url}/api/books/{found['id']}/")
    assert book == {
        **found,
        "tags": ["novel", "romance"],
        "reviews": [
            {
                "id": book["reviews"][0]["id"],
                "reviewer": "Grace",
                "rating": 4,
                "text": "Slow start, wonderful ending.",
            },
            {
                "id": book["reviews"][1]["id"],
                "reviewer": "Ada",
                "rating": 5,
                "text": "Could not put it down.",
            },
        ],
    }
    assert call("GET", f"{site.url}/api/books/999999/") == (
        404,
        {"error": "No Book matches the given query."},
    )


@pytest.mark.parametrize(
    "path", ["/api/books/", "/api/books/?tag=novel&page=2", "/api/books/?q=the&author=1"]
)
def test_the_a_method_list_answers_as_the_vinyl_list(site: Site, path: str) -> None:
    vinyl = get(site.url + path)
    assert vinyl["results"]
    assert get(site.url + path.replace("/api/", "/api/django/")) == vinyl


def test_the_a_method_detail_answers_as_the_vinyl_detail(site: Site) -> None:
    for book in get(f"{site.url}/api/books/?tag=classic")["results"][:5]:
        vinyl = get(f"{site.url}/api/books/{book['id']}/")
        assert get(f"{site.url}/api/django/books/{book['id']}/") == vinyl
    assert call("GET", f"{site.url}/api/django/books/999999/") == (
        404,
        {"error": "No Book matches the given query."},
    )


def test_create_update_tag_and_delete(site: Site) -> None:
    author = get(f"{site.url}/api/books/?q=Moby")["results"][0]["author"]
    status, created = call(
        "POST",
        f"{site.url}/api/books/",
        {"title": "Mardi", "author": author["id"], "published": 1849, "tags": ["sea", "novel"]},
    )
    assert status == 201, created
    pk = created["id"]
    assert created == {
        "id": pk,
        "title": "Mardi",
        "published": 1849,
        "pages": None,
        "author": author,
        "tags": ["novel", "sea"],
        "reviews": [],
    }
    assert get(f"{site.url}/api/books/{pk}/") == created
    status, changed = call(
        "PATCH", f"{site.url}/api/books/{pk}/", {"pages": 366, "tags": ["allegory"]}
    )
    assert status == 200, changed
    assert changed == {**created, "pages": 366, "tags": ["allegory"]}
    status, retagged = call(
        "POST",
        f"{site.url}/api/books/{pk}/tags/",
        {"add": ["sea", "voyage"], "remove": ["allegory"]},
    )
    assert (status, retagged["tags"]) == (200, ["sea", "voyage"])
    assert titles(get(f"{site.url}/api/books/?tag=voyage")["results"]) == {"Mardi"}
    assert call("DELETE", f"{site.url}/api/books/{pk}/") == (204, "")
    missing = (404, {"error": "No Book matches the given query."})
    assert call("GET", f"{site.url}/api/books/{pk}/") == missing
    assert call("DELETE", f"{site.url}/api/books/{pk}/") == missing
    assert call("PATCH", f"{site.url}/api/books/{pk}/", {"pages": 1}) == missing
    assert call("POST", f"{site.url}/api/books/{pk}/tags/", {"add": ["sea"]}) == missing
    assert site.count("catalog_booktag", book_id=pk) == 0


def test_invalid_data_is_a_400_with_djangos_messages(site: Site) -> None:
    author = get(f"{site.url}/api/books/?q=Emma")["results"][0]["author"]
    status, body = call(
        "POST", f"{site.url}/api/books/", {"title": "", "author": author["id"], "published": "x"}
    )
    assert (status, body) == (
        400,
        {
            "errors": {
                "title": ["This field cannot be blank."],
                "published": ["“x” value must be an integer."],
            }
        },
    )
    assert call(
        "POST", f"{site.url}/api/books/", {"title": "T", "author": 999999, "published": 1900}
    ) == (400, {"errors": {"author": ["author instance with id 999999 is not a valid choice."]}})
    assert call("POST", f"{site.url}/api/books/", b"{not json") == (
        400,
        {
            "errors": {
                "__all__": [
                    "The body is not JSON: Expecting property name enclosed in double quotes: "
                    "line 1 column 2 (char 1)"
                ]
            }
        },
    )
    assert call("POST", f"{site.url}/api/books/", [1]) == (
        400,
        {"errors": {"__all__": ["The body must be a JSON object."]}},
    )
    assert call("PUT", f"{site.url}/api/books/1/", {})[0] == 405
    assert site.count("catalog_book", title="T") == site.count("catalog_book", title="") == 0


def test_a_failed_write_leaves_nothing_behind(site: Site) -> None:
    author = get(f"{site.url}/api/books/?q=Emma")["results"][0]["author"]
    # The book and the tag "half-written" are written before the second tag fails.
    status, body = call(
        "POST",
        f"{site.url}/api/books/",
        {
            "title": "Half",
            "author": author["id"],
            "published": 1900,
            "tags": ["half-written", "not a slug"],
        },
    )
    assert (status, body) == (
        400,
        {
            "errors": {
                "tags": [
                    "'not a slug': Enter a valid “slug” consisting of letters, numbers, "
                    "underscores or hyphens."
                ]
            }
        },
    )
    assert site.count("catalog_book", title="Half") == 0
    assert site.count("catalog_tag", name="half-written") == 0
    # The same in an update: its new title is saved before the tags fail.
    book = get(f"{site.url}/api/books/?q=Emma")["results"][0]
    status, body = call(
        "PATCH",
        f"{site.url}/api/books/{book['id']}/",
        {"title": "Changed", "tags": ["half-written", "Not A Slug"]},
    )
    assert status == 400, body
    assert get(f"{site.url}/api/books/{book['id']}/")["title"] == "Emma"
    assert site.count("catalog_tag", name="half-written") == 0
    status, body = call(
        "POST", f"{site.url}/api/books/{book['id']}/tags/", {"add": ["half-written", "bad tag"]}
    )
    assert status == 400, body
    assert site.count("catalog_tag", name="half-written") == 0
    assert get(f"{site.url}/api/books/{book['id']}/")["tags"] == ["classic", "novel", "romance"]


def test_the_html_page_searches_and_pages(site: Site) -> None:
    status, page = call("GET", f"{site.url}/?q=the&page=2")
    matching = [row for row in SAMPLE if "the" in row["title"].lower()]
    assert status == 200
    assert f"{len(matching)} books matching “the”" in page
    assert f"Page 2 of {-(-len(matching) // 20)}" in page
    assert page.count('<li><a href="/api/books/') == min(20, len(matching) - 20)
    assert 'rel="prev" href="?page=1&amp;q=the"' in page
    status, page = call("GET", f"{site.url}/?q=%3Cscript%3E")
    assert status == 200
    assert "0 books matching “&lt;script&gt;”" in page
    assert call("GET", f"{site.url}/?page=99")[0] == 404


def shown(page: Page) -> list[str]:
    """Return the lines of the page's book list, as the browser renders them."""
    return page.locator("ul.books > li").all_inner_texts()


def listed(rows: list[dict[str, str]]) -> list[str]:
    """Return the lines the page shows for *rows*, ordered as the view orders them."""
    ordered = sorted(enumerate(rows), key=lambda row: (row[1]["title"], row[0]))
    return [f"{r['title']} by {r['author']} ({r['published']})" for _, r in ordered]


# One database is enough to drive the page; SQLite orders titles by code point, as sorted() does.
@pytest.mark.parametrize("site", ["sqlite"], indirect=True)
def test_the_browser_searches_and_pages(site: Site) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Debian's chromium is not installed at {CHROMIUM}: the browser test drives it "
            "through Playwright. Install it with `bash scripts/services.sh` (as root; it runs "
            "`apt-get install chromium`)."
        )
    every = listed(SAMPLE)
    matching = listed([row for row in SAMPLE if "the" in row["title"].lower()])
    assert len(matching) > 20  # so that the search's results have a second page
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.goto(f"{site.url}/")
            assert page.title() == "Bookshop"
            assert page.locator("p.count").inner_text() == f"{len(SAMPLE)} books"
            assert shown(page) == every[:20]
            assert page.locator("nav.pages span").inner_text() == "Page 1 of 4"
            search = page.get_by_role("searchbox", name="Search titles")
            search.fill("the")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(f"{site.url}/?q=the")
            assert page.title() == "Bookshop: “the”"
            assert search.input_value() == "the"
            assert page.locator("p.count").inner_text() == f"{len(matching)} books matching “the”"
            assert shown(page) == matching[:20]
            assert page.locator("nav.pages span").inner_text() == "Page 1 of 2"
            assert page.get_by_role("link", name="Previous").count() == 0
            page.get_by_role("link", name="Next").click()
            page.wait_for_url(f"{site.url}/?page=2&q=the")
            assert shown(page) == matching[20:]
            assert page.locator("nav.pages span").inner_text() == "Page 2 of 2"
            assert search.input_value() == "the"
            assert page.get_by_role("link", name="Next").count() == 0
        finally:
            browser.close()


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql", "mysql"])
def test_import_books_imports_a_csv_in_batches_with_a_progress_bar(
    vendor: str, tmp_path: Path
) -> None:
    url, database = new_database(vendor, tmp_path)
    env = environment(url)
    books = tmp_path / "books.csv"
    with books.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, ["title", "author", "published", "pages", "tags"])
        writer.writeheader()
        for n in range(25):
            tags = "import;odd" if n % 2 else "import"
            writer.writerow(
                {
                    "title": f"Book {n}",
                    "author": f"Writer {n % 4}",
                    "published": "1900",
                    "pages": str(100 + n),
                    "tags": tags,
                }
            )

    manage(env, "migrate", "-v0")
    done = manage(env, "import_books", str(books), "--batch-size", "10")

    assert done.stdout.startswith("Imported 25 books in ")
    # tqdm's bar on stderr, redrawn as the three batches commit, ending at 25 of 25.
    assert "25/25" in done.stderr and "10/25" in done.stderr and "20/25" in done.stderr
    site = Site("", vendor, database)
    assert site.count("catalog_book") == 25
    assert site.count("catalog_author") == 4
    assert site.count("catalog_booktag") == 25 + 12
    assert site.count("catalog_book", pages=124) == 1


def test_run_py_serves_and_a_second_run_keeps_the_data(tmp_path: Path) -> None:
    env = environment(f"sqlite://{tmp_path / 'kept.sqlite3'}")
    for run in (1, 2):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, str(PROJECT / "run.py"), "--no-venv", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert server.stdout is not None
        printed = []
        for line in server.stdout:
            printed.append(line)
            if line.startswith("The bookshop is at"):
                break
        assert printed[-1].startswith(f"The bookshop is at http://127.0.0.1:{port}/ "), printed
        if run == 1:
            assert printed[0].startswith("Imported 70 books in "), printed
            author = get(f"http://127.0.0.1:{port}/api/books/?q=Emma")["results"][0]["author"]
            body = {"title": "Kept", "author": author["id"], "published": 2026}
            assert call("POST", f"http://127.0.0.1:{port}/api/books/", body)[0] == 201
        else:
            assert printed[0] == "The shop has 71 books already: no sample data loaded.\n"
            kept = get(f"http://127.0.0.1:{port}/api/books/?q=Kept")
            assert titles(kept["results"]) == {"Kept"}
        server.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = server.communicate(timeout=30)
        assert server.returncode == 0, rest
        assert "Application shutdown complete." in rest
        assert rest.endswith("Stopped; vinyl's pools are closed.\n"), rest
