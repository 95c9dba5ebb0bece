"""The demo proxy itself: CONNECT + TLS with the bundled demo CA, plain HTTP, farm site options."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pharmcheck.demo import SITES_DIR
from pharmcheck.demo.corpus import CorpusError, load_corpus
from pharmcheck.demo.server import BUNDLED_CA, DemoProxy

UK = "www.riverside-pharmacy.test"


@pytest.fixture(scope="module")
def proxy() -> Iterator[DemoProxy]:
    with DemoProxy(load_corpus(SITES_DIR)) as p:
        yield p


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def get(p: DemoProxy, url: str, **kw: object) -> requests.Response:
    return session().get(url, proxies={"http": p.url, "https": p.url}, verify=p.ca_file, timeout=10, **kw)


def test_bundled_sites_use_the_bundled_ca(proxy: DemoProxy) -> None:
    assert proxy.ca_file == str(BUNDLED_CA)
    assert proxy.notes == []


def test_connect_tls_with_demo_ca(proxy: DemoProxy) -> None:
    r = get(proxy, f"https://{UK}/contact")
    assert r.status_code == 200
    assert "LS2 7EQ" in r.text
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_alias_is_served(proxy: DemoProxy) -> None:
    assert get(proxy, "https://riverside-pharmacy.test/about").status_code == 200


def test_certificate_not_trusted_without_demo_ca(proxy: DemoProxy) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        session().get(f"https://{UK}/", proxies={"https": proxy.url}, timeout=10)


def test_unknown_host_gets_502(proxy: DemoProxy) -> None:
    assert get(proxy, "http://unknown-host.test/").status_code == 502
    with pytest.raises(requests.exceptions.ProxyError, match="502"):
        get(proxy, "https://unknown-host.test/")


def test_http_redirects_to_https(proxy: DemoProxy) -> None:
    r = get(proxy, f"http://{UK}/faq?x=1", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["Location"] == f"https://{UK}/faq?x=1"


def test_tls_none_site_plain_http_only(proxy: DemoProxy) -> None:
    r = get(proxy, "http://www.global-rx-licensed.test/license")
    assert r.status_code == 200 and "IPL-49302-X" in r.text
    assert "Strict-Transport-Security" not in r.headers
    with pytest.raises(requests.exceptions.ProxyError):
        get(proxy, "https://www.global-rx-licensed.test/")


def test_query_route_robots_and_404(proxy: DemoProxy) -> None:
    r = get(proxy, "https://www.lakeshore-family-pharmacy.test/?page=transfer")
    assert "Transfer a prescription to Lakeshore" in r.text
    assert "Disallow: /account/" in get(proxy, f"https://{UK}/robots.txt").text
    assert "Allow: /" in get(proxy, "https://www.bluepill-express.test/robots.txt").text
    assert get(proxy, f"https://{UK}/no-such-page").status_code == 404
    assert get(proxy, f"https://{UK}/static/site.css").headers["Content-Type"].startswith("text/css")


def test_paths_cannot_escape_pages(proxy: DemoProxy) -> None:
    for target in ("/..%2f..%2fsite.toml", "/%2e%2e/site.toml", "/..%2F..%2F..%2Fetc%2Fpasswd"):
        assert get(proxy, f"https://{UK}{target}").status_code == 404


def test_post_is_refused(proxy: DemoProxy) -> None:
    r = session().post(f"https://{UK}/contact", proxies={"https": proxy.url}, verify=proxy.ca_file,
                       timeout=10)
    assert r.status_code == 405


def _site(root: Path, name: str, toml: str, index: str = "<h1>hi</h1>") -> None:
    (root / name / "pages").mkdir(parents=True)
    (root / name / "site.toml").write_text(toml, encoding="utf-8")
    (root / name / "pages" / "index.html").write_text(index, encoding="utf-8")


def test_other_hosts_get_certificates_on_the_fly(tmp_path: Path) -> None:
    pytest.importorskip("trustme")
    _site(tmp_path, "ok", 'host = "www.example-one.test"\nlabel = "legit"\n')
    _site(tmp_path, "old", 'host = "www.example-two.test"\nlabel = "rogue"\ntls = "expired"\n')
    _site(tmp_path, "self", 'host = "www.example-three.test"\nlabel = "rogue"\ntls = "self_signed"\n')
    _site(tmp_path, "wrong", 'host = "www.example-four.test"\nlabel = "rogue"\ntls = "wrong_host"\n')
    _site(tmp_path, "door", 'host = "www.example-five.test"\nlabel = "rogue"\n'
          'redirect_to = "https://www.example-one.test/"\n')
    with DemoProxy(load_corpus(tmp_path)) as p:
        assert p.ca_file != str(BUNDLED_CA)
        assert get(p, "https://www.example-one.test/").text == "<h1>hi</h1>"
        for host, reason in (("www.example-two.test", "expired"), ("www.example-three.test", "certificate"),
                             ("www.example-four.test", "match")):
            with pytest.raises(requests.exceptions.SSLError, match=reason):
                get(p, f"https://{host}/")
        r = get(p, "https://www.example-five.test/anything", allow_redirects=False)
        assert (r.status_code, r.headers["Location"]) == (301, "https://www.example-one.test/")
    assert not Path(p.ca_file).exists()  # temporary CA removed on close


def test_corpus_validation(tmp_path: Path) -> None:
    _site(tmp_path, "typo", 'host = "a.test"\nlabel = "legit"\nhtps = "valid"\n')
    with pytest.raises(CorpusError, match="unknown keys htps"):
        load_corpus(tmp_path)


def test_bundled_leaf_covers_every_bundled_host() -> None:
    ctx = ssl.create_default_context(cafile=str(BUNDLED_CA))
    assert ctx.cert_store_stats()["x509_ca"] == 1
    hosts = {h for s in load_corpus(SITES_DIR) for h in s.hosts}
    listed = set((BUNDLED_CA.parent / "hosts.txt").read_text().split())
    assert hosts <= listed, "run tools/make_demo_certs.py after changing demo host names"
