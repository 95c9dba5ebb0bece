"""Write a WARC the way a web archiver would: spider sites over HTTP(S) and record every response.

Used by tests to turn the bundled demo sites (served by the demo proxy on 127.0.0.1) into a WARC
file with warcio's writer; nothing outside the machine is contacted.
"""

from __future__ import annotations

import io
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pharmcheck.fetch.discovery import extract_links, same_site
from pharmcheck.urls import registered_domain

_DROP = {"content-encoding", "transfer-encoding", "content-length", "connection"}


def capture_sites(starts: list[list[str]], warc_path: Path, *, proxy: str, ca_file: str,
                  max_per_site: int = 80) -> int:
    """Spider each site from its start URLs (and its http:// root); returns the records written."""
    urllib3.disable_warnings()
    session = requests.Session()
    session.trust_env = False
    proxies = {"http": proxy, "https": proxy}
    written = 0
    with warc_path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for urls in starts:
            host = (urlsplit(urls[0]).hostname or "").lower()
            domain = registered_domain(host)
            queue = deque([*urls, f"http://{host}/", f"https://{host}/robots.txt"])
            seen: set[str] = set()
            while queue and len(seen) < max_per_site:
                url = queue.popleft()
                if url in seen:
                    continue
                seen.add(url)
                get = {"proxies": proxies, "allow_redirects": False, "timeout": 10}
                try:
                    resp = session.get(url, verify=ca_file, **get)  # type: ignore[arg-type]
                except requests.exceptions.SSLError:  # archivers keep sites with bad certificates too
                    resp = session.get(url, verify=False, **get)  # type: ignore[arg-type]
                except requests.RequestException:
                    continue
                if resp.status_code == 502:  # the demo proxy's answer for hosts it does not serve
                    continue
                body = resp.content
                headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in _DROP]
                headers.append(("Content-Length", str(len(body))))
                status = StatusAndHeaders(f"{resp.status_code} {resp.reason or 'OK'}", headers,
                                          protocol="HTTP/1.1")
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                   http_headers=status)
                writer.write_record(record)
                written += 1
                if resp.is_redirect and resp.headers.get("Location"):
                    queue.append(urljoin(url, resp.headers["Location"]))
                elif "html" in resp.headers.get("Content-Type", ""):
                    for link in extract_links(resp.text, url):
                        if same_site(link.url, domain):
                            queue.append(link.url)
    return written
