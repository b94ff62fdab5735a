"""eifkit attest: the ten genuine Nitro documents verify at their own
timestamps and say what their README says; every tampering, a moved time,
a swapped root, a reordered or shortened cabundle, a wrong PCR or nonce
fails with its reason on one line; PCR comparison against an EIF eifkit
builds, with documents signed by a test CA given with --root (attestdoc.py:
AWS's root cannot sign test documents)."""
import base64
import json

import cbor2
import pytest

import attestdoc
from conftest import fake_kernel, run, VECTORS

ATT = VECTORS.parent / "attestation"  # not a folder of EIF vectors
DOCS = sorted(p.stem for p in ATT.glob("*.cbor"))
A = VECTORS / "a-one-ramdisk"
P384 = VECTORS / "f-signed-p384"
G1_SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"


def expected(name):
    return json.loads((ATT / f"{name}.expected.json").read_text())


def one_line_error(r, *words):
    assert r.code == 1, r
    assert r.err.startswith(b"eifkit attest: ") and r.err.count(b"\n") == 1, r
    for w in words:
        assert w.encode() in r.err, r


def attest_json(doc, *args):
    r = run("attest", doc, "--json", "--allow-debug", *args)
    assert r.code == 0, r
    return json.loads(r.out)


def write(tmp_path, data, name="doc.cbor"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ---- the genuine documents ----

def test_ten_vectors():
    assert len(DOCS) == 10


@pytest.mark.parametrize("name", DOCS)
def test_genuine_document_verifies_with_its_fields(name):
    e = expected(name)
    j = attest_json(ATT / f"{name}.cbor")
    assert j["ok"] is True
    assert j["module_id"] == e["module_id"]
    assert j["timestamp_ms"] == e["timestamp_ms"]
    # the README's ISO time has microseconds; ours has milliseconds
    assert j["timestamp"] == e["timestamp"][:23] + "Z"
    for i in (0, 1, 2, 8):
        assert j["pcrs"].get(str(i)) == e[f"pcr{i}"]
    assert len(j["pcrs"]) == e["pcr_count"]
    nonzero = [int(k) for k, v in j["pcrs"].items() if set(v) != {"0"}]
    assert sorted(nonzero) == e["nonzero_pcrs"]
    assert j["debug_mode"] == e["debug_mode"]
    for f in ("user_data", "nonce", "public_key"):
        got = None if j[f] is None else len(j[f]) // 2
        assert got == e[f"{f}_len"], f
    assert len(j["chain"]) == e["chain_len"]
    assert j["chain"][0]["subject"] == "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US"
    leaf = j["chain"][-1]
    assert leaf["subject"].startswith("CN=" + e["leaf_subject_cn"] + ",")
    assert [leaf["not_before"], leaf["not_after"]] == \
        [t.replace("+00:00", "Z") for t in e["leaf_validity"]]
    assert j["cose_tagged"] == e["cose_tagged"]
    assert j["root_sha256"] == G1_SHA256
    # checked at the document's own time, to the second
    assert j["verified_at"] == e["timestamp"][:19] + "Z"


@pytest.mark.parametrize("name", DOCS)
def test_genuine_summary(name):
    e = expected(name)
    r = run("attest", ATT / f"{name}.cbor", "--allow-debug")
    assert r.code == 0, r
    out = r.out.decode()
    assert e["module_id"] in out
    assert e["timestamp"][:23] + "Z" in out
    assert e["leaf_subject_cn"] in out
    assert "5 certificates" in out and G1_SHA256 in out
    for i in e["nonzero_pcrs"]:
        assert f"PCR{i:<2} {e['pcr' + str(i)]}" in out if i in (0, 1, 2, 8) \
            else f"PCR{i:<2} " in out
    for f in ("public_key", "user_data", "nonce"):
        n = e[f"{f}_len"]
        assert f"{f:<12} " + ("null" if n is None else f"{n} bytes") in out


def test_debug_document_refused_without_allow_debug():
    r = run("attest", ATT / "blocky_20240907_debug.cbor")
    one_line_error(r, "debug-mode", "--allow-debug")
    assert r.out == b""


def test_production_document_is_not_debug():
    r = run("attest", ATT / "blocky_20240907_prod.cbor")
    assert r.code == 0, r


@pytest.mark.parametrize("fmt", ["base64", "hex", "urlsafe", "wrapped"])
def test_input_encodings(tmp_path, fmt):
    raw = (ATT / "veracruz_20221109_prod.cbor").read_bytes()
    text = {"base64": base64.b64encode(raw),
            "hex": raw.hex().encode(),
            "urlsafe": base64.urlsafe_b64encode(raw).rstrip(b"="),
            "wrapped": b"\n".join(base64.b64encode(raw)[i:i + 76]
                                  for i in range(0, 8000, 76)) + b"\n"}[fmt]
    p = write(tmp_path, text, "doc.txt")
    assert run("attest", p).code == 0
    forced = "hex" if fmt == "hex" else "base64"
    assert run("attest", p, "--format", forced).code == 0
    # raw bytes read as base64 are refused, not guessed
    one_line_error(run("attest", ATT / "veracruz_20221109_prod.cbor",
                       "--format", "base64"), "base64")


def test_tagged_and_indefinite_envelopes_verify(tmp_path):
    raw = (ATT / "capejs_20220915_prod_pcr8.cbor").read_bytes()
    arr = cbor2.loads(raw)
    tagged = write(tmp_path, cbor2.dumps(cbor2.CBORTag(18, arr)), "t.cbor")
    assert attest_json(tagged)["cose_tagged"] is True
    # the same four items in an indefinite-length array: the signature
    # covers only the protected header and the payload
    body = b"".join(cbor2.dumps(x) for x in arr)
    indef = write(tmp_path, b"\x9f" + body + b"\xff", "i.cbor")
    assert attest_json(indef)["module_id"] == \
        expected("capejs_20220915_prod_pcr8")["module_id"]


# ---- time ----

def test_time_outside_the_leaf_validity():
    doc = ATT / "blocky_20240907_prod.cbor"   # leaf 14:37:36 to 17:37:39
    assert run("attest", doc, "--at", "2024-09-07T17:37:00Z").code == 0
    one_line_error(run("attest", doc, "--at", "2024-09-07T17:38:00Z"),
                   "the leaf certificate", "expired", "three hours")
    one_line_error(run("attest", doc, "--at", "2024-09-07T14:37:00Z"),
                   "the leaf certificate", "not yet valid")
    one_line_error(run("attest", doc, "--now"), "expired", "three hours")
    one_line_error(run("attest", doc, "--at", "@1725738000"), "expired")


def test_document_time_must_be_inside_every_validity(tmp_path):
    chain = attestdoc.Chain()
    late = attestdoc.TS_MS + 4 * 3600 * 1000   # after the leaf's end
    doc = write(tmp_path, attestdoc.document(chain, {}, timestamp=late))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    r = run("attest", doc, "--root", root)
    one_line_error(r, "the leaf certificate", "expired")
    # checked at a time when the chain is valid, the timestamp still is not
    r = run("attest", doc, "--root", root, "--at", "2025-01-01T01:00:00Z")
    one_line_error(r, "timestamp", "outside the validity of the leaf")


# ---- tampering ----

def flipped(data, off, bit=0):
    b = bytearray(data)
    b[off] ^= 1 << bit
    return bytes(b)


def parts(name="blocky_20240907_prod"):
    raw = (ATT / f"{name}.cbor").read_bytes()
    prot, unprot, payload, sig = cbor2.loads(raw)
    return raw, prot, unprot, payload, sig


def test_flipped_signature_bit(tmp_path):
    raw, prot, unprot, payload, sig = parts()
    for off in (0, 47, 48, 95):
        doc = write(tmp_path, cbor2.dumps([prot, unprot, payload,
                                           flipped(sig, off, 3)]))
        one_line_error(run("attest", doc), "COSE signature does not verify")


def test_flipped_payload_bit(tmp_path):
    raw, prot, unprot, payload, sig = parts()
    pcr0 = cbor2.loads(payload)["pcrs"][0]
    for off in (payload.index(pcr0), payload.index(b"timestamp") + 17,
                payload.index(b"module_id") + 12):
        doc = write(tmp_path, cbor2.dumps([prot, unprot,
                                           flipped(payload, off), sig]))
        one_line_error(run("attest", doc), "COSE signature does not verify")


def test_flipped_protected_header_bit(tmp_path):
    raw, prot, unprot, payload, sig = parts()
    assert prot == b"\xa1\x01\x38\x22"
    for off in range(len(prot) * 8):
        doc = write(tmp_path, cbor2.dumps([flipped(prot, off // 8, off % 8),
                                           unprot, payload, sig]))
        r = run("attest", doc)
        assert r.code == 1, (off, r)
        assert r.err.count(b"\n") == 1
        assert b"COSE protected header" in r.err or b"COSE signature" in r.err


@pytest.mark.parametrize("which", [0, 1, 2, 3, "leaf"])
def test_flipped_certificate_bit(tmp_path, which):
    raw, prot, unprot, payload, sig = parts()
    p = cbor2.loads(payload)
    der = p["certificate"] if which == "leaf" else p["cabundle"][which]
    # a bit in the certificate's signature value (its last bytes), and one
    # in its subject public key
    for off in (len(der) - 5, der.index(b"\x03\x62\x00\x04") + 20):
        bad = flipped(der, off)
        q = dict(p)
        if which == "leaf":
            q["certificate"] = bad
        else:
            q["cabundle"] = list(p["cabundle"])
            q["cabundle"][which] = bad
        doc = write(tmp_path, cbor2.dumps([prot, unprot, cbor2.dumps(q), sig]))
        r = run("attest", doc)
        if which == 0:
            one_line_error(r, "cabundle[0] is not the trusted root")
        elif which == "leaf" and off > 100 and off < len(der) - 100:
            # a changed leaf key: the chain fails on the leaf's signature
            one_line_error(r, "chain: the leaf certificate")
        else:
            one_line_error(r, "chain:")


def test_swapped_root(tmp_path):
    root = write(tmp_path, attestdoc.other_root(), "other.pem")
    r = run("attest", ATT / "blocky_20240907_prod.cbor", "--root", root)
    one_line_error(r, "cabundle[0] is not the trusted root")


def test_genuine_root_given_with_root_option():
    r = run("attest", ATT / "blocky_20240907_prod.cbor", "--root",
            ATT / "aws-nitro-root-g1.pem")
    assert r.code == 0, r


def rebundle(tmp_path, cab):
    raw, prot, unprot, payload, sig = parts()
    p = cbor2.loads(payload)
    p["cabundle"] = cab(p["cabundle"])
    return write(tmp_path, cbor2.dumps([prot, unprot, cbor2.dumps(p), sig]))


@pytest.mark.parametrize("drop", [1, 2, 3])
def test_certificate_dropped_from_cabundle(tmp_path, drop):
    doc = rebundle(tmp_path, lambda c: c[:drop] + c[drop + 1:])
    one_line_error(run("attest", doc), "chain:", "is not issued by")


def test_root_dropped_from_cabundle(tmp_path):
    doc = rebundle(tmp_path, lambda c: c[1:])
    one_line_error(run("attest", doc), "cabundle[0] is not the trusted root")


@pytest.mark.parametrize("order", [[0, 2, 1, 3], [0, 1, 3, 2], [0, 3, 2, 1]])
def test_cabundle_reordered(tmp_path, order):
    doc = rebundle(tmp_path, lambda c: [c[i] for i in order])
    one_line_error(run("attest", doc), "chain:", "in order")


# ---- nonce, user_data, public_key on genuine documents ----

def test_nonce_and_user_data():
    doc = ATT / "veracruz_20221109_prod.cbor"
    p = cbor2.loads(cbor2.loads(doc.read_bytes())[2])
    good = p["nonce"].hex()
    j = attest_json(doc, "--nonce", good, "--user-data", p["user_data"].hex())
    assert j["nonce_match"] is True and j["user_data_match"] is True
    bad = ("00" if good[:2] != "00" else "01") + good[2:]
    one_line_error(run("attest", doc, "--nonce", bad), "nonce does not match")
    one_line_error(run("attest", doc, "--nonce", good[:-2]), "nonce")
    one_line_error(run("attest", doc, "--user-data", "00"), "user_data")
    # a document whose nonce is null
    one_line_error(run("attest", ATT / "basenv_20241130_prod.cbor",
                       "--nonce", "00"), "nonce", "null")


def test_user_data_and_public_key_from_files(tmp_path):
    doc = ATT / "capejs_20220915_prod_pcr8.cbor"
    p = cbor2.loads(cbor2.loads(doc.read_bytes())[2])
    ud = write(tmp_path, p["user_data"], "ud.bin")
    pk = write(tmp_path, p["public_key"], "pk.bin")
    j = attest_json(doc, "--user-data", ud, "--public-key", pk)
    assert j["user_data_match"] and j["public_key_match"]
    other = write(tmp_path, p["public_key"][:-1], "pk2.bin")
    one_line_error(run("attest", doc, "--public-key", other), "public_key")


def test_pcr_option_on_genuine_document():
    doc = ATT / "capejs_20220915_prod_pcr8.cbor"
    e = expected("capejs_20220915_prod_pcr8")
    r = run("attest", doc, "--pcr", "0=" + e["pcr0"], "--pcr",
            "8=" + e["pcr8"].upper())
    assert r.code == 0, r
    assert r.out.decode().count("match (--pcr)") == 2
    wrong = "1" + e["pcr1"][1:] if e["pcr1"][0] != "1" else "2" + e["pcr1"][1:]
    r = run("attest", doc, "--pcr", "1=" + wrong)
    one_line_error(r, "PCR1 does not match", e["pcr1"], wrong)
    assert b"MISMATCH" in r.out
    r = run("attest", doc, "--pcr", "20=" + e["pcr0"])
    one_line_error(r, "PCR20 is not in the document")


# ---- comparison with an EIF eifkit builds (test CA, --root) ----

def build_eif(tmp_path, cmdline="console=ttyS0", signed=False):
    out = tmp_path / f"app-{len(cmdline)}-{signed}.eif"
    rd1 = tmp_path / "rd1"
    rd1.write_bytes(b"the application ramdisk")
    kernel = tmp_path / "bzImage"   # the same bytes for every EIF here
    kernel.write_bytes(fake_kernel(fill=b"k" * 8192))
    args = ["assemble", "--kernel", kernel, "--cmdline", cmdline,
            "--ramdisk", A / "ramdisk0", "--ramdisk", rd1, "--name", "t",
            "-o", out]
    if signed:
        args += ["--signing-certificate", P384 / "cert.pem",
                 "--private-key", P384 / "key.pem"]
    assert run(*args).code == 0
    return out


def pcrs_of(eif):
    r = run("pcr", eif)
    assert r.code == 0, r
    return {int(k[3:]): bytes.fromhex(v)
            for k, v in json.loads(r.out).items() if k.startswith("PCR")}


@pytest.fixture(scope="module")
def chain():
    return attestdoc.Chain()


def test_match_with_eif(tmp_path, chain):
    eif = build_eif(tmp_path)
    pcrs = pcrs_of(eif)
    assert set(pcrs) == {0, 1, 2}
    doc = write(tmp_path, attestdoc.document(chain, pcrs))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    r = run("attest", doc, "--eif", eif, "--root", root)
    assert r.code == 0, r
    assert r.out.decode().count("match (--eif)") == 3
    j = json.loads(run("attest", doc, "--eif", eif, "--root", root,
                       "--json").out)
    assert [(c["pcr"], c["match"], c["source"]) for c in j["compared"]] == \
        [(0, True, "--eif"), (1, True, "--eif"), (2, True, "--eif")]
    # without --root the test chain does not lead to AWS's root
    one_line_error(run("attest", doc, "--eif", eif),
                   "cabundle[0] is not the trusted root")


def test_mismatch_with_another_eif(tmp_path, chain):
    eif = build_eif(tmp_path)
    other = build_eif(tmp_path, cmdline="console=ttyS0 quiet")
    doc = write(tmp_path, attestdoc.document(chain, pcrs_of(eif)))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    r = run("attest", doc, "--eif", other, "--root", root)
    have, want = pcrs_of(eif)[0].hex(), pcrs_of(other)[0].hex()
    one_line_error(r, "PCR0 does not match", have, want, "--eif")
    out = r.out.decode()
    # the cmdline is in PCR0 and PCR1; PCR2 (the second ramdisk) matches
    assert out.count("MISMATCH") == 2 and "match (--eif)" in out


def test_signed_eif_compares_pcr8(tmp_path, chain):
    eif = build_eif(tmp_path, signed=True)
    pcrs = pcrs_of(eif)
    assert 8 in pcrs
    root = write(tmp_path, chain.root_pem(), "root.pem")
    doc = write(tmp_path, attestdoc.document(chain, pcrs))
    r = run("attest", doc, "--eif", eif, "--root", root)
    assert r.code == 0 and r.out.decode().count("match (--eif)") == 4, r
    no8 = dict(pcrs)
    del no8[8]
    doc = write(tmp_path, attestdoc.document(chain, no8), "no8.cbor")
    one_line_error(run("attest", doc, "--eif", eif, "--root", root),
                   "PCR8 does not match")


def test_pcrs_file(tmp_path, chain):
    eif = build_eif(tmp_path)
    pcrs_json = tmp_path / "pcrs.json"
    pcrs_json.write_bytes(run("pcr", eif).out)
    root = write(tmp_path, chain.root_pem(), "root.pem")
    doc = write(tmp_path, attestdoc.document(chain, pcrs_of(eif)))
    r = run("attest", doc, "--pcrs", pcrs_json, "--root", root)
    assert r.code == 0 and r.out.decode().count("match (--pcrs)") == 3, r
    # nitro-cli's {"Measurements": ...} form, one value wrong
    m = json.loads(pcrs_json.read_text())
    m["PCR2"] = "ab" * 48
    pcrs_json.write_text(json.dumps({"Measurements": m}))
    one_line_error(run("attest", doc, "--pcrs", pcrs_json, "--root", root),
                   "PCR2 does not match", "--pcrs")
    m["PCR2"] = "ab" * 47 + "  "
    pcrs_json.write_text(json.dumps(m))
    one_line_error(run("attest", doc, "--pcrs", pcrs_json, "--root", root),
                   "PCR2 is not PCR0-31 with 96 hex digits")


def test_debug_document_against_eif(tmp_path, chain):
    eif = build_eif(tmp_path)
    doc = write(tmp_path, attestdoc.document(chain, {4: b"\x01" * 48}))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    one_line_error(run("attest", doc, "--eif", eif, "--root", root),
                   "debug-mode")
    one_line_error(run("attest", doc, "--eif", eif, "--root", root,
                       "--allow-debug"), "PCR0 does not match")


def test_test_ca_nonce(tmp_path, chain):
    root = write(tmp_path, chain.root_pem(), "root.pem")
    doc = write(tmp_path, attestdoc.document(
        chain, {0: b"\x01" * 48}, nonce=b"n" * 16, user_data=b"",
        public_key=b"k" * 1024))
    j = json.loads(run("attest", doc, "--root", root, "--json", "--nonce",
                       (b"n" * 16).hex()).out)
    assert j["nonce_match"] is True and j["user_data"] == ""
    assert j["public_key"] == (b"k" * 1024).hex()
    one_line_error(run("attest", doc, "--root", root, "--nonce",
                       (b"m" * 16).hex()), "nonce does not match")


def test_signed_by_another_key(tmp_path, chain):
    p = cbor2.dumps(attestdoc.payload(chain, {0: b"\x01" * 48}))
    other = attestdoc.Chain(intermediates=0)
    doc = write(tmp_path, attestdoc.sign(chain, p, key=other.leaf_key))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    one_line_error(run("attest", doc, "--root", root),
                   "COSE signature does not verify")


# ---- hostile documents ----

def hostile_payload(chain, **changes):
    p = attestdoc.payload(chain, {0: b"\x01" * 48})
    for k, v in changes.items():
        if v is KeyError:
            del p[k]
        else:
            p[k] = v
    return p


HOSTILE_FIELDS = [
    ({"module_id": ""}, "module_id: empty"),
    ({"module_id": 5}, "module_id: a unsigned integer, not a text string"),
    ({"module_id": KeyError}, "module_id: missing"),
    ({"digest": "SHA256"}, "digest"),
    ({"timestamp": 0}, "timestamp"),
    ({"timestamp": -1}, "timestamp"),
    ({"timestamp": "1"}, "timestamp"),
    ({"pcrs": {}}, "pcrs: 0 entries"),
    ({"pcrs": {i: bytes(48) for i in range(33)}}, "pcrs"),
    ({"pcrs": {32: bytes(48)}}, "pcrs: a key"),
    ({"pcrs": {0: bytes(32)}}, "pcrs: PCR0 is not 48 bytes"),
    ({"pcrs": {"0": bytes(48)}}, "pcrs: a key"),
    ({"pcrs": [bytes(48)]}, "pcrs: a array"),
    ({"certificate": b""}, "certificate: 0 bytes"),
    ({"certificate": bytes(1025)}, "certificate: 1025 bytes"),
    ({"certificate": None}, "certificate: a null"),
    ({"cabundle": []}, "cabundle: 0 certificates"),
    ({"cabundle": [b"x"] * 17}, "cabundle: 17 certificates"),
    ({"cabundle": [bytes(1025)]}, "cabundle[0]"),
    ({"cabundle": ["x"]}, "cabundle[0]"),
    ({"public_key": bytes(1025)}, "public_key: 1025 bytes"),
    ({"user_data": "text"}, "user_data: a text string"),
    ({"nonce": 1}, "nonce: a unsigned integer"),
]


@pytest.mark.parametrize("changes,words", HOSTILE_FIELDS,
                         ids=[w for _, w in HOSTILE_FIELDS])
def test_hostile_payload_fields(tmp_path, chain, changes, words):
    p = cbor2.dumps(hostile_payload(chain, **changes))
    doc = write(tmp_path, attestdoc.sign(chain, p))
    root = write(tmp_path, chain.root_pem(), "root.pem")
    one_line_error(run("attest", doc, "--root", root), "payload: " + words)


def envelope(*items, tail=b""):
    return b"\x84" + b"".join(cbor2.dumps(i) for i in items) + tail


GOOD = (ATT / "veracruz_20221109_prod.cbor").read_bytes()
HOSTILE_DOCS = [
    (b"", "ends inside"),
    (GOOD[:100], "longer than the input"),
    (GOOD[:-1], "longer than the input"),
    (b"\x82\x00\x19\x01", "ends inside a CBOR head"),
    (b"\x9f\x00", "ends inside a CBOR item"),
    (GOOD + b"\x00", "1 bytes after the CBOR item"),
    (b"\x84\x5b\xff\xff\xff\xff\xff\xff\xff\xff", "longer than the input"),
    (b"\x84\x9b\x00\x00\x00\x01\x00\x00\x00\x00", "more items than bytes"),
    (b"\x81" * 100 + b"\x00", "nested deeper"),
    (b"\x9f" * 100 + b"\xff" * 100, "nested deeper"),
    (b"\xa2\x01\x00\x01\x00", "a duplicate map key"),
    (b"\x83\x01\x02\x03", "not a COSE_Sign1"),
    (b"\xd3\x84\x40\xa0\x40\x40", "not a COSE_Sign1"),
    (envelope(b"\xa1\x01\x38\x22", [], b"", bytes(96)), "unprotected header"),
    (envelope("x", {}, b"", bytes(96)), "protected header is a text"),
    (envelope(b"\xa1\x01\x38\x22", {}, b"", bytes(95)), "95 bytes, not 96"),
    (envelope(b"\xa1\x01\x26", {}, b"", bytes(96)), "not ES384"),
    (envelope(b"\xa0", {}, b"", bytes(96)), "no algorithm"),
    (envelope(b"\xa2\x01\x38\x22\x02\x80", {}, b"", bytes(96)), "critical"),
    (envelope(b"\xa1\x01\x38\x22\x00", {}, b"", bytes(96)), "after the CBOR"),
    (envelope(b"\xa1\x01\x38\x22", {}, b"\x80", bytes(96)), "payload: a array"),
    (envelope(b"\xa1\x01\x38\x22", {}, b"\xa1\x61\x61", bytes(96)), "payload"),
    (envelope(b"\xa1\x01\x38\x22", {}, b"\xa2\x61\x61\x00\x61\x61\x00",
              bytes(96)), "duplicate map key"),
    (b"\x84\x7f\x61\x61\x41\x62\xff", "another type"),
    (b"\x84\x44\xa1\x01\x38\x22\xff", "a break outside"),
    (b"\x81\xf8\x10", "simple value below 32"),
    (b"\x81\x1c", "reserved"),
    (b"\x81\x62\xc3\x28", "not UTF-8"),
    (b"\xbf\x01\xff", "a map key without a value"),
    (b"\xa1\x80\x00", "not an integer or a string"),
    (b"\x99\x01\x2c" + b"\x80" * 300, "more than 256 CBOR items"),
    (bytes(70000), "more than the 65536"),
]


@pytest.mark.parametrize("data,words", HOSTILE_DOCS,
                         ids=[f"{i}-{w}" for i, (_, w) in enumerate(HOSTILE_DOCS)])
def test_hostile_documents(tmp_path, data, words):
    doc = write(tmp_path, data)
    r = run("attest", doc, "--format", "raw")
    one_line_error(r, words)
    assert r.out == b""


def test_huge_text_document(tmp_path):
    doc = write(tmp_path, b"A" * (4 * 65536 + 1), "big.txt")
    one_line_error(run("attest", doc), "big.txt")


# ---- usage ----

@pytest.mark.parametrize("args", [
    [], ["a", "b"], ["d", "--pcr", "0=00"], ["d", "--pcr", "32=" + "0" * 96],
    ["d", "--pcr", "x=" + "0" * 96], ["d", "--nonce", "xyz"],
    ["d", "--pcr", "0=" + "0" * 94 + "  "],  # 96 characters, 47 bytes
    ["d", "--at", "yesterday"], ["d", "--at", "2024-01-01", "--now"],
    ["d", "--format", "pem"], ["d", "--bogus"],
])
def test_usage_errors(args):
    r = run("attest", *args)
    assert r.code == 2, r


def test_help_and_missing_inputs(tmp_path):
    r = run("attest", "--help")
    assert r.code == 0 and b"--allow-debug" in r.out and b"--eif" in r.out
    one_line_error(run("attest", tmp_path / "missing.cbor"), "missing.cbor")
    one_line_error(run("attest", ATT / "veracruz_20221109_prod.cbor", "--eif",
                       tmp_path / "none.eif"), "none.eif")
    one_line_error(run("attest", ATT / "veracruz_20221109_prod.cbor",
                       "--root", ATT / "veracruz_20221109_prod.cbor"),
                   "--root")


# ---- pcr --kms-policy ----

@pytest.mark.parametrize("vec", ["a-one-ramdisk", "f-signed-p384"])
def test_pcr_kms_policy(vec):
    d = VECTORS / vec
    m = json.loads((d / "expected.measurements.json").read_text())
    r = run("pcr", d / "expected.eif", "--kms-policy")
    assert r.code == 0, r
    p = "kms:RecipientAttestation:"
    want = {p + "ImageSha384": m["PCR0"], p + "PCR0": m["PCR0"],
            p + "PCR1": m["PCR1"], p + "PCR2": m["PCR2"]}
    if "PCR8" in m:
        want[p + "PCR8"] = m["PCR8"]
    assert json.loads(r.out) == {"Condition": {"StringEqualsIgnoreCase": want}}
    assert list(json.loads(r.out)["Condition"]["StringEqualsIgnoreCase"]) \
        == list(want)


def test_pcr_kms_policy_needs_an_eif():
    r = run("pcr", "--kms-policy", "--input", ATT / "aws-nitro-root-g1.pem")
    assert r.code == 2 and b"--kms-policy needs an EIF" in r.err, r


def test_help_matches_the_docs():
    r = run("attest", "--help")
    doc = (VECTORS.parent.parent / "docs" / "eifkit-attest.md").read_text()
    synopsis = r.out.decode().split("\n\n")[0]
    for line in synopsis.splitlines():
        assert line.strip() in doc, line
    readme = (VECTORS.parent.parent / "README.md").read_text()
    assert "### Verify a running enclave" in readme


def test_document_from_a_pipe():
    raw = (ATT / "veracruz_20221109_prod.cbor").read_bytes()
    r = run("attest", "/dev/stdin", input=base64.b64encode(raw))
    assert r.code == 0 and b"(base64)" in r.out, r
