"""Inputs in object storage: ``s3://``, ``gs://``, ``az://`` (and ``https://`` when allowed).

Every remote input goes through fsspec and the filesystem package of its scheme (s3fs,
gcsfs, adlfs: the ``genailog[s3]``, ``[gcs]``, ``[azure]`` extras), with the credentials
that package finds in the usual chain (environment, profile and config files, the
machine's role). A prefix is listed recursively like a local folder, and a glob is matched
on the bucket; the listing gives each object's size, ETag and version, which key the
columnar cache (:func:`genailog.ingest.cache.cache_key`) instead of hashing the content.

``https://`` (public files) is off unless ``GENAILOG_ALLOW_HTTPS=1``, and is read with the
standard library so that every redirect can be refused. What it must not do: follow a
redirect anywhere silently (a redirect is an error naming where it points), print
a traceback for a missing object or a denied access (each is one :class:`InputError`
line, exit 3), or trust a name it lists (names stay data).
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from genailog.errors import InputError
from genailog.textsafe import visible

#: scheme -> (fsspec protocol, package that provides it, genailog extra that installs it)
SCHEMES: dict[str, tuple[str, str, str]] = {
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gcs", "gcsfs", "gcs"),
    "gcs": ("gcs", "gcsfs", "gcs"),
    "az": ("az", "adlfs", "azure"),
    "abfs": ("abfs", "adlfs", "azure"),
}
#: Read with the standard library, which lets every redirect be refused (fsspec's HTTP
#: layer hands a redirect's body back as the content when told not to follow it).
WEB = ("http", "https")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
#: The environment switch for ``https://`` inputs (off by default).
ALLOW_HTTPS = "GENAILOG_ALLOW_HTTPS"
_LOOPBACK = re.compile(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


@dataclass(frozen=True)
class RemoteObject:
    """One listed object: what its listing said about it."""

    url: str
    size: int | None
    etag: str | None = None
    version: str | None = None


def scheme_of(name: str) -> str | None:
    """The URL scheme of ``name`` (lower case), or None for a local path."""
    match = _URL.match(name)
    return match.group(1).lower() if match else None


def is_remote(name: str) -> bool:
    return scheme_of(name) is not None


def filesystem(scheme: str) -> Any:
    """The fsspec filesystem of ``scheme``, or a one-line error naming what to install."""
    if scheme not in SCHEMES:
        raise InputError(f"{visible(scheme)}:// is not an input genailog reads; use a local "
                         "path, s3://, gs://, az:// or (when allowed) https://")
    protocol, package, extra = SCHEMES[scheme]
    try:
        import fsspec

        __import__(package)
    except ImportError:
        raise InputError(f"reading {scheme}:// needs the {package} package: "
                         f"pip install 'genailog[{extra}]'") from None
    # Listings are not cached: a long-lived process must see objects added since.
    return fsspec.filesystem(protocol, use_listings_cache=False)


def check_allowed(name: str) -> None:
    """``https://`` is off unless allowed; ``http://`` only to this machine (tests, local
    servers), never in the clear across a network."""
    scheme = scheme_of(name)
    if scheme not in ("http", "https"):
        return
    if scheme == "http" and not _LOOPBACK.match(name):
        raise InputError(f"{name}: plain http:// is read only from this machine; use https://")
    if not https_allowed():
        raise InputError(f"{name}: reading https:// inputs is off; allow it with "
                         f"{ALLOW_HTTPS}=1 in the environment")


def https_allowed() -> bool:
    """Only the person running genailog turns it on: the settings file, reviewed like code
    in a repository, cannot (genailog.config refuses network switches by name)."""
    return os.environ.get(ALLOW_HTTPS, "") not in ("", "0")


def _path(url: str) -> str:
    """The path fsspec wants: the URL without its scheme."""
    return url[len(scheme_of(url) or "") + 3:]


def _url(scheme: str, path: str) -> str:
    return f"{scheme}://{path}"


def fail(url: str, exc: BaseException) -> InputError:
    """The one-line error of a failed remote call."""
    if isinstance(exc, InputError):
        return exc
    kind = type(exc).__name__
    text = visible(" ".join(str(exc).split())[:300])
    if isinstance(exc, FileNotFoundError):
        return InputError(f"no such object or prefix: {url}")
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "403" in text:
        return InputError(f"access denied to {url}: check the credentials your environment "
                          f"gives ({text or kind})")
    if "Credentials" in kind:
        return InputError(f"no credentials for {url}: set them the usual way for this "
                          f"storage (e.g. AWS_PROFILE or AWS_ACCESS_KEY_ID) ({text})")
    return InputError(f"cannot read {url}: {kind}: {text}" if text else
                      f"cannot read {url}: {kind}")


def _object(scheme: str, path: str, info: dict[str, Any]) -> RemoteObject:
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    version = info.get("VersionId") or info.get("generation") or info.get("version_id")
    size = info.get("size")
    return RemoteObject(_url(scheme, path), int(size) if size is not None else None,
                        str(etag).strip('"') if etag else None,
                        str(version) if version else None)


def expand(arg: str, wanted: Any) -> list[RemoteObject]:
    """The objects ``arg`` names: one object, every log object under a prefix (``wanted``
    judges a name, hidden names skipped), or the objects a glob matches, sorted."""
    check_allowed(arg)
    scheme = scheme_of(arg) or ""
    if scheme in WEB:
        return [_web_object(arg)]
    fs = filesystem(scheme)
    path = _path(arg)
    try:
        if any(c in path for c in "*?["):
            found = fs.glob(path, detail=True)
            objects = [_object(scheme, p, i) for p, i in sorted(found.items())
                       if i.get("type") == "file"]
            if not objects:
                raise InputError(f"no objects match {arg}")
            return objects
        info = fs.info(path)
        if info.get("type") == "file":
            return [_object(scheme, info.get("name", path), info)]
        root = path.rstrip("/") + "/"
        listed = fs.find(root, detail=True)
    except Exception as exc:  # noqa: BLE001 - every storage error becomes one line
        raise fail(arg, exc) from None
    objects = [_object(scheme, p, i) for p, i in sorted(listed.items())
               if i.get("type", "file") == "file" and p.startswith(root)
               and not any(part.startswith(".") for part in p[len(root):].split("/"))
               and wanted(p.rsplit("/", 1)[-1])]
    if not objects:
        raise InputError(f"no log objects under {arg}")
    return objects


def _refuse_redirect(req: Any, fp: Any, code: int, msg: str, headers: Any,
                     newurl: str) -> None:
    raise InputError(f"{req.full_url} redirects ({code}) to {visible(newurl)}; genailog "
                     "does not follow redirects: name that address if you trust it")


def _web(url: str, method: str) -> Any:
    """An answer of 200 to ``method`` on ``url``; anything else is one-line error."""
    import urllib.error  # imported here: http.client costs every command 35 ms to load
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        redirect_request = staticmethod(_refuse_redirect)

    opener = urllib.request.build_opener(NoRedirect())
    try:
        return opener.open(urllib.request.Request(url, method=method), timeout=60)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            raise InputError(f"no such object or prefix: {url}") from None
        if exc.code in (401, 403):
            raise InputError(f"access denied to {url} (HTTP {exc.code})") from None
        raise InputError(f"cannot read {url}: HTTP {exc.code}") from None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - see fail()
        raise fail(url, exc) from None


def _web_object(url: str) -> RemoteObject:
    try:
        answer = _web(url, "HEAD")
    except InputError as exc:
        if not re.search(r"HTTP (405|501)$", str(exc)):
            raise
        return RemoteObject(url, None)  # a server without HEAD: the GET will tell
    with answer:
        size = answer.headers.get("Content-Length")
        return RemoteObject(url, int(size) if size and size.isdigit() else None,
                            answer.headers.get("ETag"))


class _Guarded(io.RawIOBase):
    """A remote file as a raw stream whose failures are one-line input errors."""

    def __init__(self, handle: Any, url: str) -> None:
        self._handle, self._url = handle, url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._handle.read(len(buffer))
        except Exception as exc:  # noqa: BLE001 - see fail()
            raise fail(self._url, exc) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._handle.close()
        finally:
            super().close()


def open_object(obj: RemoteObject) -> BinaryIO:
    """A buffered binary stream of the object (read as it goes, never all at once)."""
    scheme = scheme_of(obj.url) or ""
    if scheme in WEB:
        return io.BufferedReader(_Guarded(_web(obj.url, "GET"), obj.url), 1 << 20)
    fs = filesystem(scheme)
    # 16 MiB blocks: a cached object costs one small read, a big one few requests.
    known = {"size": obj.size} if scheme == "s3" and obj.size is not None else {}
    try:
        handle = fs.open(_path(obj.url), "rb", block_size=_BLOCK, **known)
    except Exception as exc:  # noqa: BLE001 - see fail()
        raise fail(obj.url, exc) from None
    return io.BufferedReader(_Guarded(handle, obj.url), buffer_size=1 << 20)


_BLOCK = 16 << 20
_staged: dict[str, str] = {}
_stage_dir: list[str] = []


def _stage_key(obj: RemoteObject) -> str:
    return f"{obj.url}\0{obj.etag}\0{obj.version}"


def staged_path(obj: RemoteObject) -> str | None:
    """The local copy of the object if one was made."""
    return _staged.get(_stage_key(obj))


def staged_copy(obj: RemoteObject) -> str:
    """A local copy of the object, for readers that need a file (Parquet). With the cache
    on and an ETag listed, the copy is kept in the cache folder under a key of the URL,
    ETag, version and size, and reused by later runs after its size and hash are checked;
    otherwise it lives in a private temporary folder for the life of the process (lazy
    frames scan it)."""
    key = _stage_key(obj)
    if key in _staged:
        return _staged[key]
    kept = _kept(obj)
    local = kept.load() if kept is not None else None
    if local is None:
        local = kept.fill(obj) if kept is not None else None
    if local is None:
        local = _download(obj, os.path.join(_temporary(), f"{len(_staged):06d}-"
                                            + re.sub(r"[^A-Za-z0-9.]", "_",
                                                     obj.url.rsplit("/", 1)[-1])[-60:]))
    _staged[key] = local
    return local


def _temporary() -> str:
    if not _stage_dir:
        folder = tempfile.mkdtemp(prefix="genailog-remote-")
        atexit.register(shutil.rmtree, folder, True)
        _stage_dir.append(folder)
    return _stage_dir[0]


def _download(obj: RemoteObject, local: str) -> str:
    with open_object(obj) as stream, open(local, "wb") as out:
        os.chmod(local, 0o600)
        shutil.copyfileobj(stream, out, 1 << 20)
    return local


@dataclass(frozen=True)
class _Kept:
    """An object's copy in the cache folder: ``objects/KEY`` and its ``KEY.json``."""

    data: Path
    meta: Path

    def load(self) -> str | None:
        from genailog.ingest import cache

        try:
            if any(cache._unsafe(p) for p in (self.data.parent, self.data, self.meta)):
                return None  # missing, or not ours alone: download again
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
            if (meta.get("size") != self.data.stat().st_size
                    or meta.get("digest") != cache.file_digest(self.data)):
                return None
        except (OSError, ValueError):
            return None
        return str(self.data)

    def fill(self, obj: RemoteObject) -> str | None:
        """Download into the cache folder (written aside, then renamed into place);
        None when the folder cannot be used."""
        from genailog.ingest import cache

        aside = self.data.with_name(f".{self.data.name}.{os.getpid()}.tmp")
        try:
            self.data.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if cache._unsafe(self.data.parent) is not None:
                return None
            _download(obj, str(aside))
            if obj.size is not None and aside.stat().st_size != obj.size:
                raise InputError(f"{obj.url} changed while it was read; run again")
            meta = {"url": obj.url, "etag": obj.etag, "version": obj.version,
                    "size": aside.stat().st_size, "digest": cache.file_digest(aside)}
            self.meta.write_text(json.dumps(meta), encoding="utf-8")
            os.chmod(self.meta, 0o600)
            os.replace(aside, self.data)
        except OSError:
            aside.unlink(missing_ok=True)
            return None
        except BaseException:
            aside.unlink(missing_ok=True)
            raise
        return str(self.data)


def _kept(obj: RemoteObject) -> _Kept | None:
    """Where the cache keeps the object, or None (cache off, or no ETag to key it by)."""
    from genailog.ingest import cache

    root = cache.cache_root()
    if root is None or obj.etag is None:
        return None
    name = hashlib.sha256(json.dumps([obj.url, obj.etag, obj.version, obj.size]).encode()
                          ).hexdigest()[:32]
    folder = root / "objects"
    return _Kept(folder / name, folder / f"{name}.json")
