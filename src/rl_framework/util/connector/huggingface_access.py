"""What the Hub's answers mean for the HuggingFace connector: retry, refuse, or give up.

``is_transient`` decides what is retried (network failures, dropped downloads, 429/5xx);
``write_access_problem`` reads the Hub's ``whoami`` answer to refuse, before any work, a token
that cannot write the target repository (the Hub itself would refuse only at the final commit).
"""

from __future__ import annotations

from typing import Any

#: HTTP answers worth retrying.
TRANSIENT_STATUS_CODES = (429, 500, 502, 503, 504)


def status_code(error: Exception) -> int | None:
    """The HTTP status of a failed Hub request, ``None`` for other errors."""
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        return int(error.response.status_code)
    return None


def is_transient(error: Exception) -> bool:
    """Network failures and 429/5xx answers are worth retrying; everything else is final."""
    import http.client

    import requests
    import urllib3
    from huggingface_hub.utils import LocalEntryNotFoundError

    status = status_code(error)
    if status is not None:
        return status in TRANSIENT_STATUS_CODES
    # hf_hub_download reports an unreachable Hub (without a cached copy) as LocalEntryNotFoundError;
    # a connection dropped mid-download surfaces as ChunkedEncodingError/ProtocolError (huggingface_hub
    # resumes only requests.ConnectionError itself) or, cut at a chunk boundary, as its size check.
    dropped = (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError, http.client.IncompleteRead)
    if isinstance(error, OSError) and "Consistency check failed" in str(error):
        return True
    return isinstance(error, (requests.ConnectionError, requests.Timeout, LocalEntryNotFoundError, *dropped))


def write_access_problem(identity: dict[str, Any], repository_id: str) -> str | None:
    """Why the token of ``identity`` (the Hub's ``whoami`` answer) cannot write ``repository_id``, or ``None``.

    Uses what ``whoami`` reports: the user name, the user's organisations with their role, the
    token's role, and a fine-grained token's scoped permissions.

    :param identity: the ``whoami`` answer.
    :param repository_id: ``"owner/name"``.
    :return: the reason, for the message, or ``None`` if the token can write there.
    """
    owner = repository_id.split("/")[0]
    user = identity.get("name")
    organisations = {
        org.get("name"): org.get("roleInOrg") for org in identity.get("orgs") or [] if isinstance(org, dict)
    }
    access = identity.get("auth", {}).get("accessToken", {})
    if owner != user and owner not in organisations:
        return f"the token belongs to '{user}', who is neither '{owner}' nor a member of an organisation '{owner}'"
    if owner in organisations and organisations[owner] == "read":
        return f"'{user}' has only the read role in the organisation '{owner}'"
    if access.get("role") == "fineGrained":
        for scope in (access.get("fineGrained") or {}).get("scoped") or []:
            entity = scope.get("entity") or {}
            if entity.get("name") in (owner, repository_id) and "repo.write" in (scope.get("permissions") or []):
                return None
        return f"it is a fine-grained token without the 'repo.write' permission for '{repository_id}' or '{owner}'"
    return None
