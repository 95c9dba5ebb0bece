"""Licence and registration number formats as the authorities document them (rules/licence.toml).

These tests assert the authorities' facts, not the wording of any sample page: every scheme cites
the documentation its format comes from; a format is `strict` (a mismatch is a malformed number,
which counts against the site) only where that documentation states it; numbers with the certain
shape of a strict scheme but an undocumented prefix are unrecognised (None), never malformed.
Each `format_sources` entry quotes the source in `says`; the examples below follow from those statements.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from pharmcheck.checks.licence import Scheme, _check_number, dea_ok, npi_ok, patterns
from pharmcheck.knowledge import builtin_pack_dir, default_knowledge


def _raw_schemes() -> list[dict[str, Any]]:
    doc = tomllib.loads((builtin_pack_dir() / "licence.toml").read_text(encoding="utf-8"))
    schemes: list[dict[str, Any]] = doc["data"]["schemes"]
    return schemes


def _scheme(scheme_id: str) -> Scheme:
    for s in patterns(default_knowledge()).schemes:
        if s.id == scheme_id:
            return s
    raise AssertionError(f"no scheme {scheme_id}")


def _ok(scheme_id: str, number: str) -> bool | None:
    return _check_number(_scheme(scheme_id), number, "", 0)[1]


# --- every format cites its authority ----------------------------------------------------------


@pytest.mark.parametrize("entry", _raw_schemes(), ids=lambda e: str(e.get("id")))
def test_every_scheme_cites_where_its_format_comes_from(entry: dict[str, Any]) -> None:
    sources = entry.get("format_sources")
    assert isinstance(sources, list) and sources, "format_sources: the authority's documentation, quoted"
    for src in sources:
        assert str(src["url"]).startswith(("https://", "http://"))
        assert len(str(src["says"])) > 30, "say what the source states, not just where it is"


STRICT = [e for e in _raw_schemes() if e.get("strict")]
LENIENT = [e for e in _raw_schemes() if not e.get("strict")]


@pytest.mark.parametrize("entry", STRICT, ids=lambda e: str(e.get("id")))
def test_strict_schemes_state_their_format(entry: dict[str, Any]) -> None:
    assert entry.get("formats"), "a strict scheme needs the documented formats"
    assert entry.get("format_label"), "the label is what the finding tells the user"


@pytest.mark.parametrize("entry", LENIENT, ids=lambda e: str(e.get("id")))
def test_lenient_schemes_never_call_a_number_malformed(entry: dict[str, Any]) -> None:
    for number in ("12345", "AB-12/345", "9999999999999"):
        assert _ok(str(entry["id"]), number) is not False


# --- GPhC (Great Britain) ----------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1000001", "1999999", "9000001", "9099999"])
def test_gphc_premises_numbers_are_seven_digits_beginning_1_or_9(number: str) -> None:
    assert _ok("gb_gphc", number) is True


def test_gphc_pharmacist_numbers_begin_with_2_and_technicians_with_5() -> None:
    assert _ok("gb_gphc", "2000001") is True
    assert _ok("gb_gphc", "5000001") is True


@pytest.mark.parametrize("number", ["123456", "12345678", "1234", "20123456"])
def test_gphc_numbers_of_another_length_are_malformed(number: str) -> None:
    assert _ok("gb_gphc", number) is False


@pytest.mark.parametrize("number", ["0123456", "3123456", "4123456", "6123456", "7123456", "8123456"])
def test_gphc_seven_digits_with_an_undocumented_first_digit_are_unrecognised(number: str) -> None:
    assert _ok("gb_gphc", number) is None


def test_gphc_register_link_reads_the_number() -> None:
    link = _scheme("gb_gphc").register_link
    assert link is not None
    m = link.search("https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/9000001")
    assert m is not None and m.group(1) == "9000001"


# --- United States -----------------------------------------------------------------------------


def test_dea_check_digit_is_the_last_digit_of_odd_plus_twice_even() -> None:
    # digits 1 2 3 4 5 6: (1+3+5) + 2*(2+4+6) = 33 -> check digit 3
    assert dea_ok("AB1234563")
    assert not dea_ok("AB1234564")
    # a registrant using a business address has 9 as its second character
    assert _ok("us_dea", "F91234563") is True
    assert _ok("us_dea", "F91234560") is False


def test_npi_is_ten_digits_with_a_luhn_check_over_80840() -> None:
    # the CMS worked example: 123456789 gets check digit 3
    assert npi_ok("1234567893")
    assert not npi_ok("1234567890")
    assert _ok("us_npi", "123456789") is False


def test_ncpdp_ids_are_seven_digits_other_numbers_after_nabp_are_unrecognised() -> None:
    assert _ok("us_ncpdp", "0512345") is True
    assert _ok("us_ncpdp", "1234-5678") is None


def test_state_board_licences_have_no_common_format() -> None:
    for number in ("PHY51234", "28734", "RPH-0012345"):
        assert _ok("us_board", number) is True


# --- Europe and elsewhere ----------------------------------------------------------------------


def test_finess_is_nine_characters_with_corsica_departements() -> None:
    assert _ok("fr_finess", "750000001") is True
    assert _ok("fr_finess", "2A0000001") is True
    assert _ok("fr_finess", "2B0000001") is True
    assert _ok("fr_finess", "75000001") is False


def test_rpps_is_eleven_digits() -> None:
    assert _ok("fr_rpps", "10000000001") is True
    assert _ok("fr_rpps", "1000000001") is False


def test_agb_code_is_eight_digits() -> None:
    assert _ok("nl_agb", "01000001") is True
    assert _ok("nl_agb", "0100001") is False


def test_big_number_is_eleven_digits_and_leading_zeros_may_be_dropped() -> None:
    assert _ok("nl_big", "09900000001") is True
    assert _ok("nl_big", "9900000001") is None
    assert _ok("nl_big", "12345") is False


def test_ahpra_is_three_letters_and_ten_digits() -> None:
    assert _ok("au_ahpra", "PHA0000000001") is True
    assert _ok("au_ahpra", "MED0000000001") is True
    assert _ok("au_ahpra", "PHA000000001") is False


@pytest.mark.parametrize("scheme_id", ["ie_psi", "gb_psni", "ca_pra", "es_autorizacion", "it_ministero",
                                       "in_drug_licence", "fr_ars", "au_pbs"])
def test_jurisdictions_without_a_published_format_accept_any_number(scheme_id: str) -> None:
    assert _ok(scheme_id, "4821") is True
    assert _ok(scheme_id, "KA-B21-000001") is True


def test_german_impressum_names_the_authority_instead_of_a_number() -> None:
    s = _scheme("de_betriebserlaubnis")
    assert not s.number_required and s.authority_markers is not None


# --- the GPhC register lookup uses the same premises prefixes -----------------------------------


def test_gphc_register_entries_and_printed_numbers_accept_both_premises_prefixes() -> None:
    from pharmcheck.lookups.registry import config

    gphc = config(default_knowledge()).by_id("gphc")
    assert gphc is not None and gphc.number_pattern is not None
    base = "https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/"
    for number in ("1000001", "9000001"):
        m = gphc.entry.match(base + number)
        assert m is not None and m.group("id") == number
        hit = gphc.number_pattern.search(f"Registered with the General Pharmaceutical Council, no. {number}.")
        assert hit is not None and hit.group(1) == number
    # pharmacists' numbers are not premises entries
    assert gphc.entry.match(base + "2000001") is None
