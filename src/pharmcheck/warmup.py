"""Compile the rule pack once in the scoring processes' fork server, before it forks.

The batch scores sites in a process pool started by a fork server. Importing this module
there loads the rule pack, imports every rule module and judges one tiny built-in page, so
every pattern is compiled and the phone-number metadata loaded once; the scoring processes
forked afterwards share those pages copy-on-write instead of each building its own copy
(``gc.freeze`` keeps the garbage collector from writing to them).
"""

from __future__ import annotations

import gc

from pharmcheck.api import scan_snapshot
from pharmcheck.snapshot import Page, Snapshot

_URL = "https://www.warm-up-pharmacy.test/"
_HTML = (
    "<html lang='en'><head><title>Warm-up Pharmacy</title></head><body>"
    "<p>Warm-up Pharmacy Ltd, 12 High Street, Leeds LS1 1AA. Tel +44 113 496 0000.</p>"
    "<p>GPhC registration number 1234567. A valid prescription is required.</p>"
    "<p>Sildenafil 50 mg £10.00 <button class='add-to-cart'>Add to cart</button></p>"
    "<a href='https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/1234567'>GPhC</a>"
    "</body></html>"
)


def warm() -> None:
    page = Page(url=_URL, status=200, kind="home", content_type="text/html", html=_HTML)
    scan_snapshot(Snapshot(input=_URL, url=_URL, final_url=_URL, pages=[page], redirect_chain=[_URL]))


warm()
warm()  # the second pass builds the anchor automaton from every anchor the first learnt (AnchorIndex)
# Keep the collector from touching (and so copying) the shared objects in every forked child.
gc.freeze()
