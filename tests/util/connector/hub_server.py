"""A local stand-in for the HuggingFace Hub that the real ``huggingface_hub`` (0.36) client talks to.

It speaks the endpoints the client uses for whoami, repo creation, README metadata validation,
preupload (always answering the "regular" upload mode, so no LFS/xet is involved), ndjson
commits, model info and file resolve (HEAD + GET with ``ETag``/``X-Repo-Commit``/``Content-Length``).
Repositories live in memory: every commit is a full snapshot ``{path: bytes}`` under a sha.
``fail_next`` injects server errors to exercise retries; ``drop_next_downloads`` cuts file
downloads off halfway (the connection closes before ``Content-Length`` bytes were sent).

Write access follows the Hub: a token writes its user's namespace and organisations where the
user's role is not ``read``; a fine-grained token (role ``"fineGrained"``, given with its scoped
permissions) also needs ``repo.write`` for the repository or its namespace. ``whoami`` reports
all of it as the Hub does (``orgs`` with ``roleInOrg``, ``auth.accessToken.fineGrained.scoped``).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("GET", "whoami", re.compile(r"^/api/whoami-v2$")),
    ("POST", "create", re.compile(r"^/api/repos/create$")),
    ("POST", "validate", re.compile(r"^/api/validate-yaml$")),
    ("POST", "preupload", re.compile(rf"^/api/models/{REPO}/preupload/(?P<rev>[^/]+)$")),
    ("POST", "commit", re.compile(rf"^/api/models/{REPO}/commit/(?P<rev>[^/]+)$")),
    ("GET", "info", re.compile(rf"^/api/models/{REPO}(?:/revision/(?P<rev>[^/]+))?$")),
    ("HEAD", "resolve", re.compile(rf"^/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")),
    ("GET", "resolve", re.compile(rf"^/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")),
]
INITIAL_FILES = {".gitattributes": b"*.zip filter=lfs diff=lfs merge=lfs -text\n"}


def git_blob_sha(content: bytes) -> str:
    """The git object id of a blob, which the Hub sends as the ETag of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubError(Exception):
    """An HTTP error answer: status, Hub error code header and message."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


@dataclass
class Repository:
    """One model repository: branch heads, commit snapshots and commit messages."""

    owner: str
    private: bool
    branches: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, dict[str, bytes]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str:
        """The commit sha a branch name or full commit sha points at."""
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.snapshots:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


#: A token's scoped permissions: (entity name, permissions), e.g. ("alice/repo", ("repo.content.read",)).
Scope = tuple[str, tuple[str, ...]]


class HubState:
    """Everything the stand-in Hub knows; shared by the request handler threads."""

    def __init__(
        self,
        tokens: dict[str, tuple[str, str]],
        organisations: dict[str, dict[str, str]] | None = None,
        scopes: dict[str, list[Scope]] | None = None,
    ) -> None:
        self.tokens = tokens  # token -> (user name, role)
        self.organisations = organisations or {}  # organisation -> {user: role in it}
        self.scopes = scopes or {}  # fine-grained token -> scoped permissions
        self.repositories: dict[str, Repository] = {}
        self.calls: Counter[str] = Counter()
        self.faults: dict[str, list[int]] = {}
        self.dropped_downloads = 0
        self.lock = threading.Lock()
        self._commit_counter = itertools.count()

    def new_commit(self, repository: Repository, parent: str | None, files: dict[str, bytes], message: str) -> str:
        """Store a snapshot as a new commit and return its sha."""
        material = f"{parent}:{message}:{next(self._commit_counter)}:" + ",".join(
            f"{path}={git_blob_sha(content)}" for path, content in sorted(files.items())
        )
        sha = hashlib.sha1(material.encode()).hexdigest()
        repository.snapshots[sha] = files
        repository.messages[sha] = message
        return sha


class HubServer:
    """Run the stand-in Hub on ``127.0.0.1`` at a random free port.

    :param tokens: accepted tokens -> ``(user name, role)`` (role ``"write"``, ``"read"`` or ``"fineGrained"``).
    :param organisations: organisation -> ``{user: role}`` (``"read"``, ``"contributor"``, ``"write"``, ``"admin"``).
    :param scopes: fine-grained token -> its scoped permissions ``[(entity name, permissions)]``.
    """

    def __init__(
        self,
        tokens: dict[str, tuple[str, str]],
        organisations: dict[str, dict[str, str]] | None = None,
        scopes: dict[str, list[Scope]] | None = None,
    ) -> None:
        self.state = HubState(tokens, organisations, scopes)
        handler = type("BoundHubHandler", (HubHandler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> HubServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, route: str, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests of ``route`` (e.g. ``"commit"``) with ``status``."""
        with self.state.lock:
            self.state.faults[route] = [status] * count

    def drop_next_downloads(self, count: int) -> None:
        """Cut the next ``count`` file downloads (GET resolve) off after half of their bytes."""
        with self.state.lock:
            self.state.dropped_downloads = count

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of ``repo_id`` at ``revision``."""
        repository = self.state.repositories[repo_id]
        return dict(repository.snapshots[repository.resolve(revision)])

    def commit_messages(self, repo_id: str) -> list[str]:
        """Commit messages of ``repo_id`` in commit order (the repo-creation commit first)."""
        return list(self.state.repositories[repo_id].messages.values())


class HubHandler(BaseHTTPRequestHandler):
    """Route one request to the matching Hub endpoint."""

    state: HubState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    # -- plumbing -------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        for route_method, route, pattern in ROUTES:
            match = pattern.match(path)
            if route_method != method or match is None:
                continue
            arguments = {key: unquote(value) for key, value in match.groupdict().items() if value is not None}
            try:
                with self.state.lock:
                    self.state.calls[route] += 1
                    faults = self.state.faults.get(route)
                    if faults:
                        raise HubError(faults.pop(), "Service temporarily unavailable (injected fault).")
                    getattr(self, f"_{route}")(body=body, **arguments)
            except HubError as error:
                self._send_json({"error": error.message, **error.extra}, error.status, error_code=error.code)
            return
        self._send_json({"error": f"No route for {method} {path}"}, 404)

    def _send_json(self, payload: Any, status: int = 200, error_code: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_code is not None:
            self.send_header("X-Error-Code", error_code)
        if status == 401:
            self.send_header("X-Error-Message", "Invalid credentials in Authorization header")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _token(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ").strip()

    def _user(self, required: bool, role: str = "read") -> str | None:
        header = self.headers.get("Authorization", "")
        if not header:
            if required:
                raise HubError(401, "Authorization header is required.")
            return None
        known = self.state.tokens.get(self._token())
        if known is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        if role == "write" and known[1] == "read":
            raise HubError(403, "This token has no write access.")
        return known[0]

    def _may_write(self, user: str, namespace: str, repo_id: str) -> bool:
        """The Hub's rule: own namespace or a non-read organisation role, plus repo.write for fine-grained tokens."""
        in_namespace = namespace == user or self.state.organisations.get(namespace, {}).get(user, "read") != "read"
        if self.state.tokens[self._token()][1] != "fineGrained":
            return in_namespace
        scoped = self.state.scopes.get(self._token(), [])
        return in_namespace and any(
            entity in (namespace, repo_id) and "repo.write" in permissions for entity, permissions in scoped
        )

    def _repository(self, repo_id: str) -> Repository:
        user = self._user(required=False)
        repository = self.state.repositories.get(repo_id)
        if repository is None or (repository.private and user != repository.owner):
            raise HubError(404 if user else 401, "Repository not found", "RepoNotFound")
        return repository

    def _writable_repository(self, repo_id: str) -> Repository:
        user = self._user(required=True, role="write")
        repository = self._repository(repo_id)
        if user is None or not self._may_write(user, repository.owner, repo_id):
            raise HubError(403, f"You don't have the rights to write to {repo_id}.")
        return repository

    # -- endpoints ------------------------------------------------------------------------
    def _whoami(self, body: bytes) -> None:
        user = self._user(required=True)
        role = self.state.tokens[self._token()][1]
        access: dict[str, Any] = {"role": role}
        if role == "fineGrained":
            scoped = [
                {"entity": {"type": "model" if "/" in entity else "user", "name": entity}, "permissions": list(granted)}
                for entity, granted in self.state.scopes.get(self._token(), [])
            ]
            access["fineGrained"] = {"global": ["discussion.write"], "scoped": scoped}
        organisations = [
            {"name": name, "roleInOrg": members[user]}
            for name, members in self.state.organisations.items()
            if user in members
        ]
        self._send_json(
            {
                "type": "user",
                "name": user,
                "orgs": organisations,
                "auth": {"type": "access_token", "accessToken": access},
            }
        )

    def _create(self, body: bytes) -> None:
        user = self._user(required=True, role="write")
        request = json.loads(body)
        owner = request.get("organization") or user
        repo_id = f"{owner}/{request['name']}"
        if user is None or not self._may_write(user, owner, repo_id):
            raise HubError(403, f"You don't have the rights to create a model under the namespace '{owner}'.")
        if repo_id in self.state.repositories:
            # Like the Hub, a conflict still names the repository's URL (create_repo(exist_ok=True) reads it).
            raise HubError(409, "You already created this model repo", url=f"{self._base_url()}/{repo_id}")
        repository = Repository(owner=owner, private=bool(request.get("private")))
        repository.branches["main"] = self.state.new_commit(repository, None, dict(INITIAL_FILES), "initial commit")
        self.state.repositories[repo_id] = repository
        self._send_json({"url": f"{self._base_url()}/{repo_id}", "name": repo_id})

    def _validate(self, body: bytes) -> None:
        content = json.loads(body)["content"]
        front_matter = re.match(r"^---\n(.*?)\n---\n", content, flags=re.DOTALL)
        try:
            if front_matter is not None:
                yaml.safe_load(front_matter.group(1))
        except yaml.YAMLError as error:
            self._send_json({"errors": [{"message": str(error)}], "warnings": []}, 400)
            return
        self._send_json({"errors": [], "warnings": []})

    def _preupload(self, body: bytes, repo: str, rev: str) -> None:
        repository = self._writable_repository(repo)
        existing = repository.snapshots[repository.resolve(rev)]
        files = [
            {
                "path": item["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha(existing[item["path"]]) if item["path"] in existing else None,
            }
            for item in json.loads(body)["files"]
        ]
        self._send_json({"files": files, "commitOid": repository.resolve(rev)})

    def _commit(self, body: bytes, repo: str, rev: str) -> None:
        repository = self._writable_repository(repo)
        if rev not in repository.branches:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        parent = repository.branches[rev]
        files = dict(repository.snapshots[parent])
        message = ""
        for line in body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                message = value["summary"]
            elif item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                files.pop(value["path"], None)
            else:
                raise HubError(
                    400, f"Unsupported commit operation {item['key']!r} (this stand-in stores regular files)."
                )
        sha = self.state.new_commit(repository, parent, files, message)
        repository.branches[rev] = sha
        self._send_json({"success": True, "commitOid": sha, "commitUrl": f"{self._base_url()}/{repo}/commit/{sha}"})

    def _info(self, body: bytes, repo: str, rev: str = "main") -> None:
        repository = self._repository(repo)
        sha = repository.resolve(rev)
        files = repository.snapshots[sha]
        card = _card_data(files.get("README.md", b"").decode())
        self._send_json(
            {
                "id": repo,
                "modelId": repo,
                "author": repository.owner,
                "sha": sha,
                "private": repository.private,
                "library_name": card.get("library_name"),
                "tags": card.get("tags", []),
                "cardData": card,
                "siblings": [{"rfilename": path} for path in sorted(files)],
            }
        )

    def _resolve(self, body: bytes, repo: str, rev: str, path: str) -> None:
        repository = self._repository(repo)
        sha = repository.resolve(rev)
        content = repository.snapshots[sha].get(path)
        if content is None:
            raise HubError(404, f"{path} does not exist at {rev}", "EntryNotFound")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("ETag", f'"{git_blob_sha(content)}"')
        self.send_header("X-Repo-Commit", sha)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command == "GET":
            if self.state.dropped_downloads > 0:  # under the state lock (see _dispatch)
                self.state.dropped_downloads -= 1
                self.wfile.write(content[: len(content) // 2])
                self.close_connection = True
                return
            self.wfile.write(content)

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


def _card_data(readme: str) -> dict[str, Any]:
    """The YAML metadata block of a model card (empty without one)."""
    front_matter = re.match(r"^---\n(.*?)\n---\n", readme, flags=re.DOTALL)
    return yaml.safe_load(front_matter.group(1)) or {} if front_matter else {}


def point_huggingface_hub_at(server: HubServer, home: Any, monkeypatch: Any) -> None:
    """Make ``huggingface_hub`` talk to ``server`` with an empty ``home`` (no stored login, no cache).

    huggingface_hub reads its settings at import time, so its constants are patched as well as
    the environment (``monkeypatch`` undoes both after the test).

    :param server: the running stand-in.
    :param home: a fresh folder for ``HF_HOME``.
    :param monkeypatch: pytest's ``monkeypatch`` fixture.
    """
    import huggingface_hub.constants as constants
    import huggingface_hub.file_download as file_download

    for name, value in {"HF_ENDPOINT": server.url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    template = server.url + "/{repo_id}/resolve/{revision}/{filename}"
    settings = {
        "ENDPOINT": server.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": template,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": f"{home}/hub",
        "HF_TOKEN_PATH": f"{home}/token",
        "HF_STORED_TOKENS_PATH": f"{home}/stored_tokens",
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for name, value in settings.items():
        monkeypatch.setattr(constants, name, value)
    monkeypatch.setattr(file_download, "HUGGINGFACE_CO_URL_TEMPLATE", template)
