"""--json of verify, ls and pcr (#17): the schemas of docs/eifkit-verify.md,
docs/eifkit-ls.md and docs/eifkit-pcr.md, checked against the text
output of the same command and against archives made here."""
import gzip
import json
import re

import pytest

from conftest import VECTORS, run
from test_ls import TRAILER, entry, parse_ls, unescape

D = VECTORS / "d-newc-ramdisks"
S = VECTORS / "f-signed-p256"


# ---- verify ----

TEXT_STATUS = {"ok": "ok", "FAILED": "failed", "-": "skipped"}


def text_checks(out):
    """(check, status, detail) of each line of verify's text output."""
    got = []
    for line in out.decode().splitlines():
        m = re.match(r"^(\S+) +(ok|FAILED|-) +(.*)$", line)
        assert m, line
        got.append((m[1], TEXT_STATUS[m[2]], m[3]))
    return got


def verify_both(*args):
    text, js = run("verify", *args), run("verify", "--json", *args)
    assert js.err == text.err == b"", (text, js)
    assert js.code == text.code
    doc = json.loads(js.out)
    assert list(doc) == ["ok", "checks"]
    assert doc["ok"] == (js.code == 0)
    for c in doc["checks"]:
        assert list(c) == ["check", "status", "detail"]
    assert [(c["check"], c["status"], c["detail"]) for c in doc["checks"]] \
        == text_checks(text.out)
    return doc


def test_verify_signed_all_checks_pass():
    doc = verify_both(S / "expected.eif", "--pcrs", S / "expected.measurements.json",
                      "--signing-certificate", S / "cert.pem")
    assert doc["ok"] is True
    assert [c["check"] for c in doc["checks"]] == [
        "layout", "crc", "metadata", "signature",
        "pcrs", "pcrs", "pcrs", "pcrs", "certificate"]
    assert {c["status"] for c in doc["checks"]} == {"ok"}
    assert doc["checks"][4]["detail"] == "PCR0 matches"


def test_verify_failed_and_skipped(tmp_path):
    want = json.loads((S / "expected.measurements.json").read_text())
    m = want.get("Measurements", want)
    m["PCR0"] = "00" * 48
    pcrs = tmp_path / "p.json"
    pcrs.write_text(json.dumps(m))
    doc = verify_both(VECTORS / "a-one-ramdisk" / "expected.eif", "--pcrs", pcrs)
    assert doc["ok"] is False
    by = [(c["check"], c["status"]) for c in doc["checks"]]
    assert ("signature", "skipped") in by
    assert by.count(("pcrs", "failed")) == 2  # PCR0 differs, PCR8 absent
    assert doc["checks"][0]["status"] == "ok"


def test_verify_not_an_eif(tmp_path):
    f = tmp_path / "x.eif"
    f.write_bytes(b"hello world\n" * 100)
    doc = verify_both(f)
    assert doc == {"ok": False, "checks": [
        {"check": "layout", "status": "failed",
         "detail": f"'{f}': not an EIF file (bad magic)"}]}


def test_verify_detail_is_escaped(tmp_path):
    """A path quoted in a detail cannot put a control character into the
    JSON (nor, through jq -r, onto a terminal)."""
    cert = tmp_path / "c\x1b[2J\nx.pem"
    cert.write_bytes((S / "cert.pem").read_bytes())
    doc = verify_both(S / "expected.eif", "--signing-certificate", cert)
    detail = doc["checks"][-1]["detail"]
    assert detail == f"signed with '{tmp_path}/c\\x1b[2J\\nx.pem'"
    assert not re.search(r"[\x00-\x1f\x7f]", detail)


def test_verify_json_usage_error():
    r = run("verify", "--json")
    assert r.code == 2 and r.out == b""
    assert b"give one EIF file" in r.err


# ---- ls ----

def ls_json(path):
    r = run("ls", "--json", path)
    assert r.code == 0 and r.err == b"", r
    return json.loads(r.out)


def same_entry(text, js):
    """One line of the text listing and one JSON entry say the same."""
    assert unescape(js["name"].replace(" ", "\\x20")) == text["name"]
    assert text["uid"] == js["uid"] and text["gid"] == js["gid"]
    types = {"-": "file", "d": "directory", "l": "symlink", "c": "char_device",
             "b": "block_device", "p": "fifo", "s": "socket"}
    assert types[text["mode"][0]] == js["type"]
    if js["type"] in ("char_device", "block_device"):
        assert text["size"] == "%d,%d" % tuple(js["rdev"])
    else:
        assert text["size"] == str(js["size"])
    if text["target"] is not None:
        assert unescape(js["target"].replace(" ", "\\x20")) == text["target"]
    else:
        assert "target" not in js
    assert js["hard_link"] == (text["hardlink"] is not None)
    if text["hardlink"]:
        assert text["hardlink"] == (js["ino"], *js["dev"], js["nlink"])


def test_ls_eif_matches_text():
    doc = ls_json(D / "expected.eif")
    text = parse_ls(run("ls", D / "expected.eif").out.decode())
    assert list(doc) == ["ramdisks"]
    assert [(r["ramdisk"], r["size"]) for r in doc["ramdisks"]] == [
        (0, 25600), (1, 1536)]
    heads = [i for i, t in enumerate(text) if isinstance(t, str)]
    assert [text[i] for i in heads] == ["ramdisk 0 (25600 bytes):",
                                        "ramdisk 1 (1536 bytes):"]
    got = [text[heads[0] + 1:heads[1]], text[heads[1] + 1:]]
    for rd, lines in zip(doc["ramdisks"], got):
        assert rd["compressed"] is None
        assert len(rd["entries"]) == len(lines) > 0
        for t, j in zip(lines, rd["entries"]):
            same_entry(t, j)
    init = doc["ramdisks"][0]["entries"][1]
    assert init["name"] == "init" and init["mode"] == 0o755
    assert init["size"] == 20000 and init["type"] == "file"


def test_ls_cpio_fields(tmp_path):
    f = tmp_path / "t.cpio"
    a = entry(b"dev/console", 0o20600, rdev=(5, 1), mtime=7) + \
        entry(b"a b", 0o104755, nlink=2, ino=723) + \
        entry(b"a\\b\n\xff", 0o100644, b"data", nlink=2, ino=723) + \
        entry(b"l", 0o120777, b"/init\0") + TRAILER
    f.write_bytes(a + b"\0" * 12 + entry(b"x", 0o10644) + TRAILER)
    doc = ls_json(f)
    assert list(doc) == ["entries", "compressed"]
    assert doc["compressed"] is None
    e = doc["entries"]
    assert [x["name"] for x in e] == ["dev/console", "a b", "a\\\\b\\n\\xff", "l", "x"]
    assert [x["type"] for x in e] == ["char_device", "file", "file", "symlink", "fifo"]
    assert e[0]["rdev"] == [5, 1] and e[0]["mtime"] == 7 and e[0]["mode"] == 0o600
    assert e[1]["mode"] == 0o4755 and e[1]["hard_link"] and e[1]["ino"] == 723
    assert e[1]["dev"] == [3, 1] and e[1]["nlink"] == 2
    assert e[2]["size"] == 4
    assert e[3]["target"] == "/init" and not e[3]["hard_link"]
    assert [x["archive"] for x in e] == [0, 0, 0, 0, 1]
    assert e[0]["offset"] == 0 and e[4]["offset"] == len(a) + 12
    text = [t for t in parse_ls(run("ls", f).out.decode()) if isinstance(t, dict)]
    for t, j in zip(text, e):
        same_entry(t, j)


def test_ls_compressed(tmp_path):
    gz = gzip.compress((D / "ramdisk1").read_bytes(), mtime=0)
    mixed = tmp_path / "mixed.cpio"
    mixed.write_bytes((D / "ramdisk1").read_bytes() + gz)
    doc = ls_json(mixed)
    assert doc["compressed"] == {"format": "gzip", "offset": 1536}
    assert len(doc["entries"]) > 0
    (tmp_path / "r.gz").write_bytes(gz)
    eif = tmp_path / "c.eif"
    r = run("assemble", "--no-kernel-check", "--kernel", D / "bzImage", "--cmdline", "x",
            "--ramdisk", D / "ramdisk0", "--ramdisk", tmp_path / "r.gz", "-o", eif)
    assert r.code == 0, r
    doc = ls_json(eif)
    rd = doc["ramdisks"][1]
    assert rd["entries"] == []
    assert rd["compressed"]["format"] == "gzip"
    assert rd["size"] == len(gz)


def test_ls_json_malformed_is_an_error(tmp_path):
    f = tmp_path / "t.cpio"
    f.write_bytes(entry(b"f", 0o100644, b"hello") + b"junk")
    r = run("ls", "--json", f)
    assert r.code == 1
    assert b"eifkit ls: " in r.err and b"\n" == r.err[-1:]
    assert r.out.startswith(b'{"entries":[\n{"name":"f"')


def test_ls_json_empty_file(tmp_path):
    f = tmp_path / "empty"
    f.write_bytes(b"")
    assert ls_json(f) == {"entries": [], "compressed": None}


# ---- pcr ----

@pytest.mark.parametrize("args", [
    [S / "expected.eif"], ["--signing-certificate", S / "cert.pem"],
    ["--input", S / "kernel"]])
def test_pcr_json_is_the_same_json(args):
    plain, js = run("pcr", *args), run("pcr", "--json", *args)
    assert plain.code == js.code == 0, (plain, js)
    assert js.out == plain.out
    json.loads(js.out)


def test_verify_deep_json():
    """--deep adds the kernel and app checks, in JSON as in text."""
    doc = verify_both(S / "expected.eif", "--deep")
    names = [c["check"] for c in doc["checks"]]
    assert names[-2:] == ["kernel", "app"]
